/** Request bodies: JSON (or form, for RFC 7662 clients), at most BODY_LIMIT_BYTES. */
import bodyParser from 'koa-bodyparser';
import type { ParameterizedContext } from 'koa';
import { AuthError } from '../../errors.js';

export function parseBody(limitBytes: number) {
  return bodyParser({
    enableTypes: ['json', 'form'],
    jsonLimit: String(limitBytes),
    formLimit: String(limitBytes),
    strict: true,
    onerror: (err: Error & { status?: number }) => {
      if (err.status === 413) throw new AuthError('payload_too_large', `The request body is larger than ${limitBytes} bytes.`);
      throw new AuthError('invalid_request', 'The request body is not valid JSON.');
    },
  });
}

/** The parsed body as an object; anything else (array, string, missing) is invalid_request. */
export function bodyOf(ctx: ParameterizedContext): Record<string, unknown> {
  const body = (ctx.request as { body?: unknown }).body;
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
    throw new AuthError('invalid_request', 'Send a JSON object body with Content-Type: application/json.');
  }
  return body as Record<string, unknown>;
}
