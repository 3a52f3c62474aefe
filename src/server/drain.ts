/**
 * Graceful shutdown: stop accepting, let in-flight HTTP requests and websocket handshakes
 * finish for up to SHUTDOWN_GRACE_MS, then refuse what is left with a clear error
 * (shutting_down, close 4503) rather than cutting it off.
 */
import type { Server } from 'node:http';
import type { Context, Next } from 'koa';
import WebSocket, { type WebSocketServer } from 'ws';
import { AuthError } from '../errors.js';
import { renderSocketError } from './ws/close-codes.js';

/** How often the drain looks whether everything has finished. */
const POLL_MS = 20;
/** How long refused sockets get to read their error before they are cut. */
const LAST_WORD_MS = 200;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Drain {
  /** Set once shutdown begins: upgrades are refused (503) and responses ask to close the connection. */
  draining = false;
  private inflight = 0;

  /** Koa middleware: counts requests in flight. */
  readonly track = async (ctx: Context, next: Next): Promise<void> => {
    this.inflight++;
    if (this.draining) ctx.set('Connection', 'close');
    try {
      await next();
    } finally {
      this.inflight--;
    }
  };

  /** Stops accepting, waits up to `graceMs` for requests and sockets to finish, refuses the rest, and frees the port. */
  async run(server: Server, sockets: WebSocketServer | undefined, graceMs: number, refuseHandshakes: (error: AuthError) => number = () => 0): Promise<{ refused: number }> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (this.inflight > 0 || (sockets?.clients.size ?? 0) > 0)) {
      await sleep(POLL_MS);
      server.closeIdleConnections();
    }
    // Handshakes still under way are refused by their own sessions (recorded as refused logins);
    // any other socket gets the same error message and close directly.
    const error = new AuthError('shutting_down');
    let refused = refuseHandshakes(error);
    const { message, closeCode, closeReason } = renderSocketError(error);
    for (const socket of sockets?.clients ?? []) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      socket.send(JSON.stringify(message));
      socket.close(closeCode, closeReason);
      refused++;
    }
    if (refused > 0) await sleep(LAST_WORD_MS);
    for (const socket of sockets?.clients ?? []) socket.terminate();
    await new Promise<void>((resolve) => (sockets ? sockets.close(() => resolve()) : resolve()));
    server.closeAllConnections();
    await closed;
    return { refused };
  }
}
