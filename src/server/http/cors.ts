/**
 * CORS from ALLOWED_ORIGINS, an exact allow-list. With a list set, a preflight or a
 * state-changing request (anything but GET/HEAD) whose Origin is not on it is refused
 * (403) before any work; GET/HEAD just get no CORS headers (browsers send Origin even for
 * same-origin module scripts). With no list, no CORS headers are sent and browsers keep
 * the API same-origin.
 */
import type { Next, ParameterizedContext } from 'koa';
import { AuthError } from '../../errors.js';

const ALLOWED_HEADERS = 'Authorization, Content-Type';
const ALLOWED_METHODS = 'GET, POST, PATCH, DELETE, OPTIONS';
const PREFLIGHT_MAX_AGE_S = '600';
/** Limit: how much of a refused Origin header is repeated back (and into the log). */
export const ORIGIN_ECHO_MAX = 200;

export function cors(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins);
  return async function corsPolicy(ctx: ParameterizedContext, next: Next): Promise<void> {
    const origin = ctx.get('origin');
    ctx.vary('Origin');
    if (allowed.size === 0 || origin === '') return next();
    if (!allowed.has(origin)) {
      const safe = (ctx.method === 'GET' || ctx.method === 'HEAD') && !ctx.get('access-control-request-method');
      if (safe) return next();
      throw new AuthError('origin_not_allowed', `Origin ${origin.slice(0, ORIGIN_ECHO_MAX)} is not allowed.`);
    }
    ctx.set('Access-Control-Allow-Origin', origin);
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method')) {
      ctx.set({
        'Access-Control-Allow-Methods': ALLOWED_METHODS,
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_S,
      });
      ctx.status = 204;
      return;
    }
    await next();
  };
}
