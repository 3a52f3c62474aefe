/**
 * The access log: one structured line per HTTP request at info (method, the route pattern
 * matched, status, duration, client address, request id), never headers, bodies or the raw
 * path (a path can carry a token, e.g. /api/login-requests/:token). Every response carries an
 * X-Request-Id: the client's own when it is a plain id, else a fresh one.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Context, Next } from 'koa';
import type { Logger } from '../../log.js';
import { clientAddress } from '../address.js';

/** Limit: a client's X-Request-Id is kept when it is 1 to 128 of letters, digits and . _ : - */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The route pattern koa-router matched ('/api/accounts/:ref'), or a fixed word; never the raw path. */
export function routeOf(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  return ctx.status === 404 ? '(no route)' : '(unrouted)';
}

export function accessLog(log: Logger, trustedHops: number) {
  return async function logAccess(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    const given = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      log.info({
        event: 'http.request',
        method: ctx.method,
        route: routeOf(ctx),
        status: ctx.status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        address: clientAddress(ctx.req, trustedHops),
        requestId,
      }, 'request');
    }
  };
}
