/**
 * IP addresses as keygate keys them: one canonical text per address (IPv4-mapped IPv6 in
 * any spelling as IPv4, zone ids dropped), and one client key per subscriber (an IPv4
 * address, or the /64 of an IPv6 address, the block one subscriber usually holds).
 */
import { isIP } from 'node:net';

/** The eight 16-bit groups of a valid IPv6 address (an embedded dotted IPv4 tail counts as two). */
function ipv6Groups(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':')).flatMap((g) => {
    if (!g.includes('.')) return [parseInt(g, 16)];
    const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
    return [(a << 8) | b, (c << 8) | d];
  });
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(Math.max(0, 8 - front.length - back.length)).fill(0), ...back];
}

/** A valid IP address in its canonical text, or undefined for anything else. */
export function canonicalIp(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.length > 64) return undefined;
  const candidate = raw.trim().split('%')[0]!;
  const family = isIP(candidate);
  if (family === 4) return candidate;
  if (family !== 6) return undefined;
  const groups = ipv6Groups(candidate.toLowerCase());
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  return groups.map((g) => g.toString(16)).join(':');
}

/** The limiter key of a canonical address: IPv4 as is, IPv6 as its /64 prefix. */
export function addressKey(address: string): string {
  if (!address.includes(':')) return address;
  return `${ipv6Groups(address).slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}
