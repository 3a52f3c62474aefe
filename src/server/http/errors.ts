/** The one HTTP error renderer as Koa middleware, and the 404 for unknown routes. */
import type { Context, Next } from 'koa';
import { AuthError, asAuthError, type ErrorCode } from '../../errors.js';
import { renderHttpError } from './error-status.js';
import type { Logger } from '../../log.js';
import { logFailure } from '../log-failure.js';
import { routeOf } from './access-log.js';

/** koa-bodyparser and Koa's own errors carry a status; map them onto our codes. */
function fromHttpError(err: unknown): unknown {
  if (err instanceof AuthError || !(err instanceof Error)) return err;
  const status = (err as { status?: unknown }).status;
  if (status === 413) return new AuthError('payload_too_large', 'The request body is too large.', { cause: err });
  if (status === 415) return new AuthError('unsupported_media_type', undefined, { cause: err });
  if (status === 400) return new AuthError('invalid_request', 'The request body is not valid JSON.', { cause: err });
  return err;
}

export function errorHandler(log: Logger, onRefused: (code: ErrorCode) => void = () => undefined) {
  return async function renderErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AuthError('not_found', `No route for ${ctx.method} ${ctx.path}.`);
    } catch (err) {
      const error = asAuthError(fromHttpError(err));
      const { status, body, headers } = renderHttpError(error);
      onRefused(error.code);
      // The route pattern, never the raw path: a path can carry a token (/api/login-requests/:token).
      logFailure(log, error, 'request failed', { method: ctx.method, route: routeOf(ctx) });
      ctx.status = status;
      ctx.set(headers);
      ctx.body = body;
    }
  };
}
