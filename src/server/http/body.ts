/**
 * Request bodies: JSON only (a cross-site form cannot send it without a CORS preflight),
 * except where a standard allows a form body (RFC 7662 introspection); at most
 * BODY_LIMIT_BYTES. Each route that reads a body names its parser as a step.
 */
import bodyParser from 'koa-bodyparser';
import type { Next, ParameterizedContext } from 'koa';
import { AuthError } from '../../errors.js';

type BodyType = 'json' | 'form';

const MEDIA: Record<BodyType, string> = { json: 'application/json', form: 'application/x-www-form-urlencoded' };

function bodyParserFor(types: BodyType[], limitBytes: number) {
  const parse = bodyParser({
    enableTypes: types,
    jsonLimit: String(limitBytes),
    formLimit: String(limitBytes),
    strict: true,
    onerror: (err: Error & { status?: number; code?: string }) => {
      if (err.status === 413) throw new AuthError('payload_too_large', `The request body is larger than ${limitBytes} bytes.`);
      if (err.status === 415) throw new AuthError('unsupported_media_type', 'Send the body with no Content-Encoding, or gzip, deflate or br.');
      // zlib's codes (Z_DATA_ERROR, ...) and Brotli's failure: the body is not what its Content-Encoding says.
      if (err.code?.startsWith('Z_') || err.message === 'Decompression failed') {
        throw new AuthError('invalid_request', 'The request body could not be decompressed as its Content-Encoding says.');
      }
      // @hapi/bourne refuses prototype pollution: valid JSON that no route accepts.
      if (err.message.includes('forbidden prototype property')) throw new AuthError('invalid_request', 'The request body must not hold a __proto__ key.');
      throw new AuthError('invalid_request', 'The request body is not valid JSON.');
    },
  });
  const accepted = types.map((t) => MEDIA[t]);
  return async function parseRequestBody(ctx: ParameterizedContext, next: Next): Promise<void> {
    // false: there is a body and its type is not one we read (null: no body at all).
    if (ctx.request.is(accepted) === false) {
      throw new AuthError('unsupported_media_type', `Send the body as ${accepted.join(' or ')}.`);
    }
    await parse(ctx, next);
  };
}

/** Step: parses a JSON body; any other media type is 415. */
export const jsonBody = (limitBytes: number) => bodyParserFor(['json'], limitBytes);

/** Step: parses a JSON or form body (only where a standard allows forms). */
export const jsonOrFormBody = (limitBytes: number) => bodyParserFor(['json', 'form'], limitBytes);

/** The parsed body as an object; anything else (array, string, missing) is invalid_request. */
export function bodyOf(ctx: ParameterizedContext): Record<string, unknown> {
  const body = (ctx.request as { body?: unknown }).body;
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
    throw new AuthError('invalid_request', 'Send a JSON object body with Content-Type: application/json.');
  }
  return body as Record<string, unknown>;
}
