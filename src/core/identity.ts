/**
 * Textile identity strings and Ed25519 verification with node:crypto.
 *
 * A public key string is multibase base32 ('b' + lowercase RFC 4648, no padding) of
 * `08 01 12 20` (libp2p protobuf header: Ed25519, 32 bytes) followed by the raw key.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { base32 } from 'multiformats/bases/base32';
import { AuthError } from '../errors.js';

const PUBLIC_HEADER = Uint8Array.of(0x08, 0x01, 0x12, 0x20);
/** The field prime of Curve25519, 2^255 - 19. */
const P = 2n ** 255n - 19n;
/** The y of an Ed25519 point of order 8 (RFC 8032 curve); -Y8 is the other. */
const Y8 = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;
/** y coordinates of the eight points of small order (1, 2, 4, 8): 1, -1, 0, Y8, -Y8. */
const SMALL_ORDER_Y = new Set([1n, P - 1n, 0n, Y8, P - Y8]);
const PRIVATE_HEADER = Uint8Array.of(0x08, 0x01, 0x12, 0x40);
export const SIGNATURE_LENGTH = 64;

export interface PublicIdentity {
  /** The canonical identity string; it is the token's `sub`. */
  readonly id: string;
  readonly raw: Uint8Array;
  readonly key: KeyObject;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * Limit: parsed public keys remembered (least recently used forgotten first), so that a
 * returning key skips the decode, the point check and the key import (about 30 µs of a
 * handshake). Only keys that parsed are remembered; a public key is no secret.
 */
export const PUBLIC_KEY_CACHE_MAX = 4096;
const parsedKeys = new Map<string, PublicIdentity>();

/** How many parsed keys are remembered now (for tests). */
export const publicKeyCacheSize = () => parsedKeys.size;

/** Parses a Textile public key string; throws `invalid_pubkey` with a precise message. */
export function parsePublicKey(input: unknown): PublicIdentity {
  if (typeof input === 'string') {
    const known = parsedKeys.get(input);
    if (known) {
      parsedKeys.delete(input);
      parsedKeys.set(input, known);
      return known;
    }
  }
  const identity = parseUncached(input);
  if (parsedKeys.size >= PUBLIC_KEY_CACHE_MAX) parsedKeys.delete(parsedKeys.keys().next().value!);
  parsedKeys.set(identity.id, identity);
  return identity;
}

function parseUncached(input: unknown): PublicIdentity {
  if (typeof input !== 'string' || input.length === 0) {
    throw new AuthError('invalid_pubkey', 'pubkey is missing: send {"type":"token","pubkey":"<public key string>"}.');
  }
  if (input.length > 256) throw new AuthError('invalid_pubkey', 'pubkey is too long to be a public key string.');
  if (!input.startsWith('b')) {
    throw new AuthError('invalid_pubkey', 'pubkey must be a multibase base32 string starting with "b".');
  }
  let bytes: Uint8Array;
  try {
    bytes = base32.decode(input);
  } catch {
    throw new AuthError('invalid_pubkey', 'pubkey is not valid base32.');
  }
  if (startsWith(bytes, PRIVATE_HEADER)) {
    throw new AuthError('invalid_pubkey', 'That is a private key string. Never send it anywhere; send identity.public.toString().');
  }
  if (bytes.length !== 36 || !startsWith(bytes, PUBLIC_HEADER)) {
    throw new AuthError('invalid_pubkey', 'pubkey is not an Ed25519 public key string (expected 36 bytes beginning 08 01 12 20).');
  }
  const raw = bytes.subarray(4);
  if (formatPublicKey(raw) !== input) {
    throw new AuthError('invalid_pubkey', 'pubkey is not in canonical form (lowercase base32, no padding).');
  }
  const weakness = pointWeakness(raw);
  if (weakness) throw new AuthError('invalid_pubkey', weakness);
  let key: KeyObject;
  try {
    // A JWK import costs a tenth of a DER (SPKI) import in Node (bench/FINDINGS.md).
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch {
    throw new AuthError('invalid_pubkey', 'pubkey is not a valid Ed25519 point.');
  }
  return { id: input, raw, key };
}

/**
 * Why an encoded Ed25519 point must not be a public key, or undefined. A point of small
 * order (the identity among them) lets one constant signature verify every message, so
 * anyone could prove possession of it; a non-canonical y (>= p) is a second encoding of
 * some point. Both are refused in every encoding, whatever the sign bit.
 */
export function pointWeakness(raw: Uint8Array): string | undefined {
  let y = 0n;
  for (let i = raw.length - 1; i >= 0; i--) y = (y << 8n) | BigInt(i === raw.length - 1 ? raw[i]! & 0x7f : raw[i]!);
  if (y >= P) return 'pubkey is not a canonical Ed25519 point encoding.';
  if (SMALL_ORDER_Y.has(y)) return 'pubkey is a point of small order, which proves nothing; use a real key.';
  return undefined;
}

/** Formats raw Ed25519 public key bytes as a Textile public key string. */
export function formatPublicKey(raw: Uint8Array): string {
  if (raw.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  const bytes = new Uint8Array(36);
  bytes.set(PUBLIC_HEADER);
  bytes.set(raw, 4);
  return base32.encode(bytes);
}

/** Verifies a detached Ed25519 signature with node:crypto. */
export function verifySignature(identity: PublicIdentity, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH) return false;
  try {
    return verify(null, message, identity.key, signature);
  } catch {
    return false;
  }
}
