/**
 * The Hub API signature and API key material, byte-identical to @textile/security:
 * sig = 'b' + base32(HMAC-SHA256(multibase-decode(secret), date.toISOString())).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { base32 } from 'multiformats/bases/base32';

/** Bytes of a generated API key and secret. */
const KEY_BYTES = 16;
const SECRET_BYTES = 32;
/** The shortest secret we accept, decoded. */
export const MIN_SECRET_BYTES = 16;

export interface APISig {
  sig: string;
  msg: string;
}

/** Decodes a multibase base32 API secret; throws a TypeError describing the problem. */
export function decodeApiSecret(secret: string): Uint8Array {
  if (!secret.startsWith('b')) throw new TypeError('must be multibase base32, starting with "b"');
  let bytes: Uint8Array;
  try {
    bytes = base32.decode(secret);
  } catch {
    throw new TypeError('is not valid base32');
  }
  if (bytes.length < MIN_SECRET_BYTES) throw new TypeError(`must decode to at least ${MIN_SECRET_BYTES} bytes`);
  return bytes;
}

/** createAPISig of @textile/security, with node:crypto's HMAC. */
export function createApiSig(secret: Uint8Array, date: Date): APISig {
  const msg = date.toISOString();
  const mac = createHmac('sha256', secret).update(msg).digest();
  return { sig: base32.encode(mac), msg };
}

/** Checks a Hub API signature in constant time and that its date has not passed. */
export function verifyApiSig(secret: Uint8Array, sig: string, msg: string, now = new Date()): boolean {
  const date = new Date(msg);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== msg || date <= now) return false;
  const expected = Buffer.from(createApiSig(secret, date).sig);
  const given = Buffer.from(sig);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** A fresh API key and secret in Textile's format. */
export function generateApiCredentials(): { key: string; secret: string } {
  return { key: base32.encode(randomBytes(KEY_BYTES)), secret: base32.encode(randomBytes(SECRET_BYTES)) };
}

/** Equal-length digests, so the comparison takes the same time whatever the inputs' lengths. */
const digest = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest();

/** A constant-time check of anything given against one secret; the secret's digest is made once. */
export function secretMatcher(secret: Uint8Array | string): (given: Uint8Array | string) => boolean {
  const expected = digest(secret);
  return (given) => timingSafeEqual(expected, digest(given));
}

/** A constant-time check of an API key and secret string against the configured pair. */
export function apiPairMatcher(key: string, secret: Uint8Array): (givenKey: string, givenSecret: string) => boolean {
  const keyMatches = secretMatcher(key);
  const secretMatches = secretMatcher(secret);
  return (givenKey, givenSecret) => {
    let decoded: Uint8Array;
    try {
      decoded = decodeApiSecret(givenSecret);
    } catch {
      decoded = new Uint8Array(0);
    }
    // Both compared every time: no early return tells which half was wrong.
    const keyOk = keyMatches(givenKey);
    const secretOk = secretMatches(decoded);
    return keyOk && secretOk && decoded.length > 0;
  };
}
