/**
 * The baseline: a bare `ws` server doing the same three-message exchange as /ws/userauth
 * (pubkey -> challenge -> signature -> token, then close 1000), with messages of the same
 * sizes, the same ws options, and no auth work at all. Its own process.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { serve } from './lib.js';

/** A token message of exactly `length` bytes, shaped like the real one. */
function tokenMessage(length: number): string {
  const shell = (token: string) => JSON.stringify({
    type: 'token',
    value: { key: 'bkduiufahqofinobxnq33wiemtu', sig: 'b' + 'a'.repeat(52), msg: new Date().toISOString(), token },
  });
  const pad = Math.max(0, length - shell('').length);
  return shell('x'.repeat(pad));
}

serve({
  async start({ tokenLength, maxPayload }: { tokenLength: number; maxPayload: number }) {
    const token = tokenMessage(tokenLength);
    const server = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server, path: '/ws/userauth', maxPayload, perMessageDeflate: false });
    wss.on('connection', (socket) => {
      let step = 0;
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as { type?: string };
        if (step === 0 && message.type === 'token') {
          step = 1;
          socket.send(JSON.stringify({ type: 'challenge', value: randomBytes(32).toJSON() }));
        } else if (step === 1 && message.type === 'challenge') {
          step = 2;
          socket.send(token);
          socket.close(1000, 'done');
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    return { port, wsUrl: `ws://127.0.0.1:${port}/ws/userauth`, tokenLength: token.length };
  },
});
