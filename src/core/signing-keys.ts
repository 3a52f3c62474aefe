/**
 * The Ed25519 keys that sign tokens, kept in the store. The newest key that is not
 * retired signs; every key that may still have unexpired tokens is published in the JWKS.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { SigningKeyRecord, RecordStore } from '../store/records.js';

export interface PublicJwk extends JWK {
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

interface LoadedKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: PublicJwk;
  createdAt: number;
  retiredAt: number | null;
}

async function load(record: SigningKeyRecord): Promise<LoadedKey> {
  const privateKey = createPrivateKey(record.privatePem);
  const publicKey = createPublicKey(privateKey);
  const { kty, crv, x } = await exportJWK(publicKey);
  const jwk: PublicJwk = { kty, crv, x, kid: record.kid, alg: 'EdDSA', use: 'sig' };
  return { kid: record.kid, privateKey, publicKey, jwk, createdAt: record.createdAt, retiredAt: record.retiredAt };
}

/** Makes a new Ed25519 signing key record (not yet stored). */
export async function newSigningKey(now: number): Promise<SigningKeyRecord> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const { kty, crv, x } = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint({ kty, crv, x });
  return { kid, privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), createdAt: now, retiredAt: null };
}

export class KeyRing {
  private keys: LoadedKey[] = [];

  /**
   * @param maxTokenLifetimeMs how long a token can live: a retired key stays published
   *   that long after it stopped signing.
   */
  constructor(
    private readonly store: RecordStore,
    private readonly maxTokenLifetimeMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Loads the keys, making the first one if the store has none that may sign. */
  async open(): Promise<this> {
    await this.reload();
    if (!this.keys.some((k) => k.retiredAt === null)) {
      await this.store.addSigningKey(await newSigningKey(this.now()));
      await this.reload();
    }
    return this;
  }

  /** Re-reads the keys from the store (another instance or the CLI may have rotated). */
  async reload(): Promise<void> {
    this.keys = await Promise.all((await this.store.listSigningKeys()).map(load));
  }

  /** The key that signs new tokens. */
  current(): { kid: string; privateKey: KeyObject } {
    const active = this.keys.filter((k) => k.retiredAt === null);
    const newest = active[active.length - 1];
    if (!newest) throw new Error('no signing key: KeyRing.open() was not called or every key is retired');
    return newest;
  }

  /** The public key for a kid, if it is still published. */
  publicKey(kid: string): KeyObject | undefined {
    return this.published().find((k) => k.kid === kid)?.publicKey;
  }

  private published(): LoadedKey[] {
    const cutoff = this.now() - this.maxTokenLifetimeMs;
    return this.keys.filter((k) => k.retiredAt === null || k.retiredAt > cutoff);
  }

  /** The JSON Web Key Set: public keys only, newest first. */
  jwks(): { keys: PublicJwk[] } {
    return { keys: this.published().map((k) => k.jwk).reverse() };
  }

  /**
   * Makes a new signing key and retires the old ones; keys retired long enough ago that
   * no token they signed can still be valid are deleted. Returns the new kid.
   */
  async rotate(): Promise<string> {
    const now = this.now();
    const record = await newSigningKey(now);
    await this.store.addSigningKey(record);
    for (const k of this.keys) {
      if (k.retiredAt === null) await this.store.retireSigningKey(k.kid, now);
      else if (k.retiredAt <= now - this.maxTokenLifetimeMs) await this.store.deleteSigningKey(k.kid);
    }
    await this.reload();
    return record.kid;
  }
}
