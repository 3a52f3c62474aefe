/**
 * The Ed25519 keys that sign tokens, kept in the record store, sealed at rest (key-seal.ts).
 * Exactly one key signs at a time (the store enforces it); every key that may still have
 * unexpired tokens is published in the JWKS.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { StoreError } from '../errors.js';
import type { RecordStore, SigningKeyRecord } from '../store/records.js';
import { KeySealer } from './key-seal.js';

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

/**
 * A new Ed25519 signing key: its private key as PKCS#8 PEM, and its kid (the JWK thumbprint
 * of its public key). Generated as PEM, never as a key object of the generation: Node 20 can
 * deadlock exporting a JWK from a key object that generateKeyPair(Sync) made (the export holds
 * the key's mutex while it allocates, and a garbage collection then may finalise the
 * generation job, which takes the same mutex; seen in about 1 run in 7 of 4,146 exports, and
 * once in CI, where a test that did this froze the whole run). A key object made from the PEM
 * is not the job's, and exports safely.
 */
export async function newSigningKey(): Promise<{ pem: string; kid: string }> {
  const pem = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).privateKey;
  const { kty, crv, x } = await exportJWK(createPublicKey(pem));
  return { pem, kid: await calculateJwkThumbprint({ kty, crv, x }) };
}

export class KeyRing {
  private keys: LoadedKey[] = [];

  /**
   * @param publishedAfterRetirementMs how long a retired key stays published (and kept): the
   *   longest token lifetime, plus the time another instance may go on signing with it before
   *   it reloads (KEY_RELOAD_MS), so that every token a key signed verifies until it expires.
   */
  constructor(
    private readonly store: RecordStore,
    private readonly sealer: KeySealer,
    private readonly publishedAfterRetirementMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** A new Ed25519 signing key, sealed, not yet stored. */
  private async newKey(now: number): Promise<SigningKeyRecord> {
    const { pem, kid } = await newSigningKey();
    return { kid, privateKey: this.sealer.seal(pem, kid), createdAt: now, retiredAt: null };
  }

  private async load(record: SigningKeyRecord): Promise<LoadedKey> {
    const pem = KeySealer.isSealed(record.privateKey) ? this.sealer.open(record.privateKey, record.kid) : record.privateKey;
    const privateKey = createPrivateKey(pem);
    const publicKey = createPublicKey(privateKey);
    const { kty, crv, x } = await exportJWK(publicKey);
    const jwk: PublicJwk = { kty, crv, x, kid: record.kid, alg: 'EdDSA', use: 'sig' };
    return { kid: record.kid, privateKey, publicKey, jwk, createdAt: record.createdAt, retiredAt: record.retiredAt };
  }

  /**
   * Loads the keys; makes the first one if none signs (when several instances start at
   * once, the store lets exactly one add it and the others load it); seals any key stored
   * in plaintext by an older keygate.
   */
  async open(): Promise<this> {
    const records = await this.store.listSigningKeys();
    for (const record of records) {
      if (!KeySealer.isSealed(record.privateKey)) await this.store.sealSigningKey(record.kid, this.sealer.seal(record.privateKey, record.kid));
    }
    if (!records.some((r) => r.retiredAt === null)) {
      await this.store.addSigningKey(await this.newKey(this.now())).catch((err: unknown) => {
        if (!(err instanceof StoreError && err.code === 'conflict')) throw err;
      });
    }
    await this.reload();
    return this;
  }

  /** Re-reads the keys from the store (another instance or the CLI may have rotated). */
  async reload(): Promise<void> {
    const records = await this.store.listSigningKeys();
    this.keys = await Promise.all(records.map((r) => this.load(r)));
  }

  /** The key that signs new tokens. */
  current(): { kid: string; privateKey: KeyObject } {
    const active = this.keys.find((k) => k.retiredAt === null);
    if (!active) throw new Error('no signing key: KeyRing.open() was not called');
    return active;
  }

  /** The public key for a kid, if it is still published. */
  publicKey(kid: string): KeyObject | undefined {
    return this.published().find((k) => k.kid === kid)?.publicKey;
  }

  private published(): LoadedKey[] {
    const cutoff = this.now() - this.publishedAfterRetirementMs;
    return this.keys.filter((k) => k.retiredAt === null || k.retiredAt > cutoff);
  }

  /** The JSON Web Key Set: public keys only, newest first. */
  jwks(): { keys: PublicJwk[] } {
    return { keys: this.published().map((k) => k.jwk).reverse() };
  }

  /**
   * Makes a new signing key and retires the signing one, in one commit; keys retired long
   * enough ago that no token they signed can still be valid are deleted. Returns the new kid.
   */
  async rotate(): Promise<string> {
    const now = this.now();
    const record = await this.newKey(now);
    await this.store.rotateSigningKey(record, now);
    for (const k of await this.store.listSigningKeys()) {
      if (k.retiredAt !== null && k.retiredAt <= now - this.publishedAfterRetirementMs) await this.store.deleteSigningKey(k.kid);
    }
    await this.reload();
    return record.kid;
  }
}
