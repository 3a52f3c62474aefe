/**
 * The websocket routes, and the decision at the HTTP upgrade, before a socket exists,
 * whether one may open: only on a routed path (404 otherwise) and only while under the
 * socket cap (503). The upgrade check and the dispatch use the same {@link socketPath}
 * and the same table, so every socket that is accepted is owned by its handler.
 */
import type { IncomingMessage } from 'node:http';
import type { ParameterizedContext } from 'koa';
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import { AuthError, renderSocketError } from '../../errors.js';

export type SocketHandler = (ctx: ParameterizedContext & { websocket: WebSocket }) => void;

/** The request target's path exactly as sent: no decoding, no dot segments resolved. */
export function socketPath(url: string | undefined): string {
  const target = url ?? '';
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

type Verify = (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void;

export function verifyUpgrade(routes: ReadonlyMap<string, SocketHandler>, server: () => WebSocketServer | undefined, maxSockets: number): Verify {
  return function verifyClient({ req }, done) {
    if (!routes.has(socketPath(req.url))) return done(false, 404, 'Not Found');
    const open = server()?.clients.size ?? 0;
    if (open >= maxSockets) return done(false, 503, 'Service Unavailable', { 'Retry-After': '1' });
    done(true);
  };
}

/** koa-websocket middleware: hands the socket to the handler of its path. */
export function dispatchSocket(routes: ReadonlyMap<string, SocketHandler>) {
  return function routeSocket(ctx: ParameterizedContext): void {
    const socketCtx = ctx as ParameterizedContext & { websocket: WebSocket };
    const handler = routes.get(socketPath(ctx.req.url));
    if (handler) return handler(socketCtx);
    // Unreachable while verifyUpgrade uses the same table; never leave a socket unowned.
    const { message, closeCode, closeReason } = renderSocketError(new AuthError('not_found'));
    socketCtx.websocket.send(JSON.stringify(message));
    socketCtx.websocket.close(closeCode, closeReason);
  };
}
