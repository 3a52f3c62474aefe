/** GET /.well-known/jwks.json: the public signing keys, for any JWT library. */
import type { ParameterizedContext } from 'koa';
import type { Core } from '../../core/index.js';

export function jwksRoute(core: Core) {
  return function publishJwks(ctx: ParameterizedContext): void {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = core.keys.jwks();
  };
}
