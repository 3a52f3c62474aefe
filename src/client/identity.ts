/**
 * Ed25519 identities for browsers (and Node), in Textile's string format, with the
 * platform's WebCrypto doing the cryptography.
 *
 * The private key string is 'b' + base32 of `08 01 12 40`, the 32-byte seed and the
 * 32-byte public key, exactly as `PrivateKey.toString()` of @textile/crypto, so an
 * identity saved by one works with the other.
 */
import { base32 } from 'multiformats/bases/base32';
import type { Identity } from './index.js';

const PRIVATE_HEADER = [0x08, 0x01, 0x12, 0x40];
const PUBLIC_HEADER = [0x08, 0x01, 0x12, 0x20];

const toB64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/={1,2}$/, '');
const fromB64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

/** An Ed25519 identity backed by a non-extractable WebCrypto key. */
export class WebCryptoIdentity implements Identity {
  /** `public.toString()` is the Textile public key string ('bbaarei...'). */
  readonly public: { toString(): string; readonly bytes: Uint8Array };

  private constructor(private readonly key: CryptoKey, publicKey: Uint8Array, private readonly privateString: string) {
    const text = base32.encode(Uint8Array.from([...PUBLIC_HEADER, ...publicKey]));
    this.public = { bytes: publicKey, toString: () => text };
  }

  /** A new random identity. */
  static async generate(): Promise<WebCryptoIdentity> {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
    return WebCryptoIdentity.fromSeed(fromB64url(jwk.d!), fromB64url(jwk.x!));
  }

  /** Reads a Textile private key string ('bbaareq...'); throws TypeError if it is not one. */
  static async fromString(text: string): Promise<WebCryptoIdentity> {
    let bytes: Uint8Array;
    try {
      bytes = base32.decode(text);
    } catch {
      throw new TypeError('not a Textile private key string');
    }
    if (bytes.length !== 68 || !PRIVATE_HEADER.every((b, i) => bytes[i] === b)) throw new TypeError('not a Textile Ed25519 private key string');
    return WebCryptoIdentity.fromSeed(bytes.slice(4, 36), bytes.slice(36, 68));
  }

  private static async fromSeed(seed: Uint8Array, publicKey: Uint8Array): Promise<WebCryptoIdentity> {
    const jwk = { kty: 'OKP', crv: 'Ed25519', d: toB64url(seed), x: toB64url(publicKey) };
    // Importing checks that the public key belongs to the seed.
    const key = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']);
    const text = base32.encode(Uint8Array.from([...PRIVATE_HEADER, ...seed, ...publicKey]));
    return new WebCryptoIdentity(key, publicKey, text);
  }

  /** A 64-byte detached Ed25519 signature. */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, this.key, data as BufferSource));
  }

  /** The Textile private key string: keep it secret (e.g. in localStorage), never send it. */
  toString(): string {
    return this.privateString;
  }
}
