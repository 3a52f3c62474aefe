/**
 * The keypair login over plain HTTP, for clients that cannot hold a websocket open
 * (serverless functions, CLIs, proxies that drop websockets): POST a public key, get a
 * challenge with an id; POST the signature to that id, get the same UserAuth as on the
 * websocket. A challenge lives in the shared state store, bound to its key, for
 * CHALLENGE_TTL_MS, and is taken atomically: redeemable once, on any instance.
 */
import { randomBytes } from 'node:crypto';
import { AuthError, asAuthError } from '../errors.js';
import type { StateStore } from '../store/state.js';
import type { AccountService } from './accounts.js';
import { emitSafely, type CoreEmitter } from './events.js';
import { parsePublicKey, verifySignature } from './identity.js';
import { admitKey, CHALLENGE_BYTES, grantProvenKey, readSignatureBytes } from './keypair-login.js';
import type { Limits } from './limits.js';
import type { Grant, Provisioner } from './provision.js';

/** Challenge ids: 128 random bits, base64url. */
const ID = /^[\w-]{22}$/;

interface Stored {
  pubkey: string;
  /** The challenge bytes, base64. */
  value: string;
  /** The scope asked for: granted against the account's roles when the challenge is answered. */
  scope: string | undefined;
  expiresAt: number;
}

export interface HttpChallengesOptions {
  state: StateStore;
  accounts: AccountService;
  provisioner: Provisioner;
  limits: Limits;
  events: CoreEmitter;
  challengeTtlMs: number;
  now: () => number;
  onEventError?: (err: unknown) => void;
}

export class HttpChallenges {
  constructor(private readonly options: HttpChallengesOptions) {}

  /** Step 1: charged to the address like a websocket handshake; a disabled key is refused before any challenge. */
  async issue(pubkey: unknown, scope: unknown, address: string | undefined): Promise<{ id: string; value: Buffer; expiresAt: number }> {
    let subject: string | undefined;
    try {
      await this.options.limits.chargeAddress(address);
      const identity = parsePublicKey(pubkey);
      subject = identity.id;
      if (scope !== undefined && typeof scope !== 'string') throw new AuthError('invalid_scope', 'scope must be a string.');
      await admitKey(this.options.accounts, identity.id, scope);
      const id = randomBytes(16).toString('base64url');
      const value = randomBytes(CHALLENGE_BYTES);
      const { challengeTtlMs, now, state } = this.options;
      const expiresAt = now() + challengeTtlMs;
      const stored: Stored = { pubkey: identity.id, value: value.toString('base64'), scope, expiresAt };
      await state.set(key(id), JSON.stringify(stored), challengeTtlMs);
      return { id, value, expiresAt };
    } catch (err) {
      throw this.refused(err, subject, address);
    }
  }

  /** Step 2: the signature of the challenge in, a grant out. The challenge is spent whatever the outcome. */
  async redeem(id: unknown, sig: unknown, address: string | undefined): Promise<Grant> {
    let subject: string | undefined;
    try {
      if (typeof id !== 'string' || !ID.test(id)) throw new AuthError('no_challenge', 'No such challenge: ask for one with POST /api/challenges.');
      const signature = readSignatureBytes(sig);
      const taken = await this.options.state.take(key(id));
      if (taken === undefined) throw new AuthError('no_challenge', 'No such challenge: it expired, was answered already, or never existed.');
      const stored = JSON.parse(taken) as Stored;
      subject = stored.pubkey;
      if (this.options.now() > stored.expiresAt) throw new AuthError('challenge_expired');
      if (!verifySignature(parsePublicKey(stored.pubkey), Buffer.from(stored.value, 'base64'), signature)) {
        throw new AuthError('invalid_signature', 'The signature does not verify for this public key and challenge.');
      }
      return await grantProvenKey(this.options, stored.pubkey, stored.scope, 'http_challenge');
    } catch (err) {
      throw this.refused(err, subject, address);
    }
  }

  private refused(err: unknown, subject: string | undefined, address: string | undefined): unknown {
    const error = asAuthError(err);
    emitSafely(this.options.events, 'login.refused', { method: 'keypair', door: 'http_challenge', code: error.code, reason: error.message, subject, address }, this.options.onEventError);
    return err;
  }
}

const key = (id: string) => `challenge:${id}`;
