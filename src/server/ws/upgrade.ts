/**
 * The websocket routes, and the decision at the HTTP upgrade, before a socket exists,
 * whether one may open: only on a routed path (404), only while under the socket cap
 * (503), and only if the route admits it (its Origin policy and its rate limit: 403, 429).
 * The upgrade check and the dispatch use the same {@link socketPath} and the same table,
 * so every socket that is accepted is owned by its handler and was charged.
 */
import type { IncomingMessage } from 'node:http';
import type { ParameterizedContext } from 'koa';
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import { AuthError } from '../../errors.js';
import { renderSocketError } from './close-codes.js';
import { renderHttpError } from '../http/error-status.js';

export type SocketHandler = (ctx: ParameterizedContext & { websocket: WebSocket }) => void;

export interface SocketRoute {
  /** Decides before the socket exists; a thrown AuthError is answered with its HTTP status. */
  admit(req: IncomingMessage): Promise<void>;
  handle: SocketHandler;
  /** Refuses every socket of this route still under way with `error` (shutdown); returns how many. */
  refuseAll?(error: AuthError): number;
}

/** The request target's path exactly as sent: no decoding, no dot segments resolved. */
export function socketPath(url: string | undefined): string {
  const target = url ?? '';
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

type Verify = (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void;

export function verifyUpgrade(routes: ReadonlyMap<string, SocketRoute>, server: () => WebSocketServer | undefined, maxSockets: number, draining: () => boolean = () => false): Verify {
  const full = () => draining() || (server()?.clients.size ?? 0) >= maxSockets;
  return function verifyClient({ req }, done) {
    const route = routes.get(socketPath(req.url));
    if (!route) return done(false, 404, 'Not Found');
    if (full()) return done(false, 503, 'Service Unavailable', { 'Retry-After': '1' });
    route.admit(req).then(
      // Checked again: other upgrades may have been admitted while this one waited.
      () => (full() ? done(false, 503, 'Service Unavailable', { 'Retry-After': '1' }) : done(true)),
      (err: unknown) => {
        const { status, body, headers } = renderHttpError(err);
        done(false, status, body.message, headers);
      },
    );
  };
}

/** koa-websocket middleware: hands the socket to the handler of its path. */
export function dispatchSocket(routes: ReadonlyMap<string, SocketRoute>) {
  return function routeSocket(ctx: ParameterizedContext): void {
    const socketCtx = ctx as ParameterizedContext & { websocket: WebSocket };
    const route = routes.get(socketPath(ctx.req.url));
    try {
      // Unreachable without a route while verifyUpgrade uses the same table.
      if (!route) throw new AuthError('not_found');
      return route.handle(socketCtx);
    } catch (err) {
      // Never leave a socket unowned.
      const { message, closeCode, closeReason } = renderSocketError(err);
      socketCtx.websocket.send(JSON.stringify(message));
      socketCtx.websocket.close(closeCode, closeReason);
    }
  };
}
