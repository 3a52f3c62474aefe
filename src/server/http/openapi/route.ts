/** GET /openapi.json: the OpenAPI document, rendered once. */
import type { ParameterizedContext } from 'koa';
import { openApiDocument } from './document.js';

export function openApiRoute() {
  const body = JSON.stringify(openApiDocument());
  return function serveOpenApi(ctx: ParameterizedContext): void {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.type = 'application/json';
    ctx.body = body;
  };
}
