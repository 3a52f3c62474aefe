/**
 * MAX_CONNECTIONS_PER_ADDRESS: one peer address may hold only so many TCP connections,
 * so a few slow clients cannot take every MAX_CONNECTIONS slot. Behind TRUST_PROXY every
 * peer is the proxy, so the cap is left to the proxy there.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { addressKey, canonicalIp } from '../ip.js';

export function capConnectionsPerAddress(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', function countConnection(socket: Socket) {
    // Keyed as the rate limits are: an IPv6 client by its /64.
    const address = addressKey(canonicalIp(socket.remoteAddress) ?? 'unattributable');
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
