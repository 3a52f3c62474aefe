/**
 * The client address of a request, shared by every front door. Behind TRUST_PROXY it is
 * the X-Forwarded-For entry TRUSTED_PROXY_HOPS from the right, the one the trusted proxies
 * appended, never one the client wrote itself. Only the last `hops` entries are looked at
 * (Node bounds the whole header block), and only a valid IP address is taken.
 */
import type { IncomingMessage } from 'node:http';
import { canonicalIp } from '../ip.js';

/** The key of requests whose trusted X-Forwarded-For entry is not an IP address (a misconfigured proxy): they share one limit. */
export const UNATTRIBUTABLE = 'unattributable';

/** The entry `hops` from the right of a comma-separated header value (the leftmost if there are fewer). */
export function trustedEntry(header: string, hops: number): string {
  let end = header.length;
  for (let i = 1; i < hops; i++) {
    const comma = header.lastIndexOf(',', end - 1);
    if (comma < 0) break;
    end = comma;
  }
  return header.slice(header.lastIndexOf(',', end - 1) + 1, end).trim();
}

/** The client address: the TCP peer, or with `trustedHops` > 0 the address the trusted proxy saw. */
export function clientAddress(req: IncomingMessage, trustedHops: number): string {
  const peer = canonicalIp(req.socket.remoteAddress) ?? UNATTRIBUTABLE;
  const header = req.headers['x-forwarded-for'];
  // No header: the request did not come through the proxy (the proxy's own health check).
  if (trustedHops === 0 || typeof header !== 'string' || header.trim() === '') return peer;
  return canonicalIp(trustedEntry(header, trustedHops)) ?? UNATTRIBUTABLE;
}

/** How many forwarded entries the configuration trusts: none without TRUST_PROXY. */
export function trustedHops(config: { trustProxy: boolean; trustedProxyHops: number }): number {
  return config.trustProxy ? config.trustedProxyHops : 0;
}
