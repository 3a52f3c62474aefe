/**
 * The keypair login, free of sockets: public key -> challenge -> signature -> grant.
 * One instance per connection; its challenge is bound to it and usable once. The key's
 * account is looked up before any challenge is issued (a disabled one is refused there),
 * and made at the key's first successful login.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AuthError, asAuthError } from '../errors.js';
import { emitSafely, type CoreEmitter, type LoginDoor } from './events.js';
import { parsePublicKey, SIGNATURE_LENGTH, verifySignature, type PublicIdentity } from './identity.js';
import type { AccountService } from './accounts.js';
import type { AccountRecord } from '../store/records.js';
import { grantScope, type Grant, type Provisioner } from './provision.js';

/** Bytes of CSPRNG output in every challenge. */
export const CHALLENGE_BYTES = 32;

export interface KeypairLoginOptions {
  provisioner: Provisioner;
  accounts: AccountService;
  events: CoreEmitter;
  challengeTtlMs: number;
  /** The client address, for refusal events. */
  address?: string;
  now?: () => number;
  onEventError?: (err: unknown) => void;
}

type State =
  | { step: 'awaiting-pubkey' }
  | { step: 'checking-account' }
  | { step: 'awaiting-signature'; identity: PublicIdentity; challenge: Buffer; expiresAt: number; requestedScope: string | undefined }
  | { step: 'finished' };

/** Reads a signature sent as Buffer JSON ({type:'Buffer', data:[...]}) or a plain byte array. */
export function readSignatureBytes(sig: unknown): Uint8Array {
  const data = sig !== null && typeof sig === 'object' && !Array.isArray(sig) && (sig as { type?: unknown }).type === 'Buffer'
    ? (sig as { data?: unknown }).data
    : sig;
  if (!Array.isArray(data)) {
    throw new AuthError('invalid_signature', 'sig must be Buffer JSON: {"type":"Buffer","data":[...64 bytes...]}.');
  }
  if (data.length !== SIGNATURE_LENGTH) {
    throw new AuthError('invalid_signature', `sig must be ${SIGNATURE_LENGTH} bytes, got ${data.length}.`);
  }
  if (!data.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new AuthError('invalid_signature', 'sig bytes must be integers from 0 to 255.');
  }
  return Uint8Array.from(data as number[]);
}

/**
 * By every door, before a challenge is sent and again when it is answered: the key's account
 * (a disabled one is refused) and the scope asked for, granted within its roles (none for a
 * key without an account).
 */
export async function admitKey(accounts: AccountService, pubkey: string, scope: string | undefined): Promise<{ account: AccountRecord | undefined; scope: string | undefined }> {
  const account = await accounts.forKey(pubkey);
  if (account?.disabled) throw new AuthError('account_disabled', 'This identity is disabled.');
  return { account, scope: grantScope({ method: 'keypair', id: pubkey, roles: account?.roles ?? [] }, scope) };
}

/**
 * After the key's signature verified, by every door: the key's account as it is now (read
 * again, from what this instance remembers, which any account change or revocation anywhere
 * makes it forget; the key may have been unlinked, or the account disabled or its roles
 * changed, while the challenge waited), the scope asked for granted against the roles it has
 * now, the account made at the key's first login, the login recorded, and the grant.
 */
export async function grantProvenKey(
  { accounts, provisioner }: Pick<KeypairLoginOptions, 'accounts' | 'provisioner'>,
  pubkey: string,
  requestedScope: string | undefined,
  door: LoginDoor,
): Promise<Grant> {
  const { account: current, scope } = await admitKey(accounts, pubkey, requestedScope);
  const account = current ?? await accounts.ofProvenKey(pubkey);
  accounts.recordLogin(account);
  // A new login: its session lives in its tokens (nothing is stored per handshake) until it is ended.
  return provisioner.issue({ method: 'keypair', id: account.id, roles: account.roles, pubkey }, { scope, sid: randomUUID(), kind: 'login', door });
}

export class KeypairLogin {
  private state: State = { step: 'awaiting-pubkey' };
  private readonly now: () => number;

  constructor(private readonly options: KeypairLoginOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  /** The state as it is now (not as narrowed before an await). */
  private get current(): State {
    return this.state;
  }

  get finished(): boolean {
    return this.state.step === 'finished';
  }

  /**
   * Step 1: a public key string in, challenge bytes out. The scope asked for must be within
   * the roles of the key's account (none for a key without one); a disabled account is
   * refused here, before any challenge.
   */
  async challenge(pubkey: unknown, scope?: unknown): Promise<Buffer> {
    if (this.state.step !== 'awaiting-pubkey') {
      return this.guard(() => {
        throw new AuthError('unexpected_message', 'A token was already requested on this connection; open a new one.');
      });
    }
    const identity = this.guard(() => {
      const parsed = parsePublicKey(pubkey);
      if (scope !== undefined && typeof scope !== 'string') throw new AuthError('invalid_scope', 'scope must be a string.');
      return parsed;
    });
    this.state = { step: 'checking-account' };
    try {
      await admitKey(this.options.accounts, identity.id, scope as string | undefined);
      // Abandoned (timeout, closed socket) while the account was looked up: already recorded.
      if (this.current.step !== 'checking-account') throw new AuthError('handshake_timeout');
      const challenge = randomBytes(CHALLENGE_BYTES);
      this.state = { step: 'awaiting-signature', identity, challenge, expiresAt: this.now() + this.options.challengeTtlMs, requestedScope: scope as string | undefined };
      return challenge;
    } catch (err) {
      if (this.current.step !== 'finished') {
        this.state = { step: 'finished' };
        this.refused(asAuthError(err), identity.id);
      }
      throw err;
    }
  }

  /** Step 2: the signature of the challenge in, a grant out. The challenge is spent either way. */
  async answer(sig: unknown): Promise<Grant> {
    const state = this.state;
    return this.guardAsync(async () => {
      if (state.step !== 'awaiting-signature') {
        throw new AuthError('unexpected_message', state.step === 'awaiting-pubkey' || state.step === 'checking-account'
          ? 'Send {"type":"token","pubkey":...} first and wait for it; there is no challenge to sign yet.'
          : 'This handshake is finished; open a new connection.');
      }
      this.state = { step: 'finished' };
      if (this.now() > state.expiresAt) throw new AuthError('challenge_expired');
      const signature = readSignatureBytes(sig);
      if (!verifySignature(state.identity, state.challenge, signature)) {
        throw new AuthError('invalid_signature', 'The signature does not verify for this public key and challenge.');
      }
      return grantProvenKey(this.options, state.identity.id, state.requestedScope, 'websocket');
    }, state.step === 'awaiting-signature' ? state.identity.id : undefined);
  }

  /** Ends the login from outside (timeout, closed socket); a refusal is recorded if it was under way. */
  abandon(error: AuthError): void {
    if (this.state.step === 'finished') return;
    const subject = this.state.step === 'awaiting-signature' ? this.state.identity.id : undefined;
    this.state = { step: 'finished' };
    this.refused(error, subject);
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.state = { step: 'finished' };
      this.refused(asAuthError(err));
      throw err;
    }
  }

  private async guardAsync<T>(fn: () => Promise<T>, subject?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.state = { step: 'finished' };
      this.refused(asAuthError(err), subject);
      throw err;
    }
  }

  private refused(error: AuthError, subject?: string): void {
    const { events, address, onEventError } = this.options;
    emitSafely(events, 'login.refused', { method: 'keypair', door: 'websocket', code: error.code, reason: error.message, subject, address }, onEventError);
  }
}
