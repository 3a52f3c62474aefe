/**
 * The client address of a request, shared by every front door. Behind TRUST_PROXY it is
 * the entry the trusted proxies appended to X-Forwarded-For (TRUSTED_PROXY_HOPS from the
 * right), never one the client wrote itself; only a valid IP address is taken, otherwise
 * the TCP peer is. The result is at most an IPv6 address long.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Limit: the longest X-Forwarded-For header looked at; a longer one is ignored. */
export const FORWARDED_FOR_MAX = 4096;

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** A valid IP address in its plain form (IPv4-mapped IPv6 as IPv4, zone id dropped), or undefined. */
export function canonicalIp(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.length > 64) return undefined;
  const candidate = raw.trim().split('%')[0]!;
  const family = isIP(candidate);
  if (family === 0) return undefined;
  if (family === 6) return MAPPED_V4.exec(candidate)?.[1] ?? candidate.toLowerCase();
  return candidate;
}

/** The entry `hops` from the right of a comma-separated X-Forwarded-For value (the leftmost if there are fewer). */
function forwardedEntry(header: string, hops: number): string {
  let end = header.length;
  for (let i = 1; i < hops; i++) {
    const comma = header.lastIndexOf(',', end - 1);
    if (comma < 0) break;
    end = comma;
  }
  return header.slice(header.lastIndexOf(',', end - 1) + 1, end);
}

/** The client address: the TCP peer, or with `trustedHops` > 0 the address the trusted proxy saw. */
export function clientAddress(req: IncomingMessage, trustedHops: number): string {
  const peer = canonicalIp(req.socket.remoteAddress) ?? 'unknown';
  if (trustedHops === 0) return peer;
  const header = req.headers['x-forwarded-for'];
  if (typeof header !== 'string' || header.length > FORWARDED_FOR_MAX) return peer;
  return canonicalIp(forwardedEntry(header, trustedHops)) ?? peer;
}

/** How many X-Forwarded-For entries the configuration trusts: none without TRUST_PROXY. */
export function trustedHops(config: { trustProxy: boolean; trustedProxyHops: number }): number {
  return config.trustProxy ? config.trustedProxyHops : 0;
}
