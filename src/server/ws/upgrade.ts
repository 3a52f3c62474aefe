/**
 * Decides at the HTTP upgrade, before a socket exists, whether a websocket may open:
 * only known paths (404 otherwise), and only while under the socket cap (503).
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocketServer } from 'ws';

export const WS_PATHS = new Set(['/ws/userauth']);

type Verify = (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void;

export function verifyUpgrade(server: () => WebSocketServer | undefined, maxSockets: number): Verify {
  return function verifyClient({ req }, done) {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!WS_PATHS.has(path)) return done(false, 404, 'Not Found');
    const open = server()?.clients.size ?? 0;
    if (open >= maxSockets) return done(false, 503, 'Service Unavailable', { 'Retry-After': '1' });
    done(true);
  };
}
