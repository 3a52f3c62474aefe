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

/** Parses a Textile public key string; throws `invalid_pubkey` with a precise message. */
export function parsePublicKey(input: unknown): PublicIdentity {
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
  let key: KeyObject;
  try {
    // A JWK import costs a tenth of a DER (SPKI) import in Node (bench/FINDINGS.md).
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch {
    throw new AuthError('invalid_pubkey', 'pubkey is not a valid Ed25519 point.');
  }
  return { id: input, raw, key };
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
