/**
 * Accounts: every principal is one. The use cases of the server-to-server account API and
 * the admin CLI (create with get-or-create semantics, find, change roles, disable, delete,
 * list), the account a keypair login becomes, and linking keys to a logged-in account by
 * proof of possession.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { wholeNumber } from './query-params.js';
import { AuthError, StoreError } from '../errors.js';
import { keySubject, type AccountRecord, type RecordStore } from '../store/records.js';
import type { StateStore } from '../store/state.js';
import { emitSafely, type AccountChangedEvent, type CoreEmitter } from './events.js';
import { parsePublicKey, verifySignature, type PublicIdentity } from './identity.js';
import { readSignatureBytes } from './keypair-login.js';
import { validatePassword, type PasswordHasher } from './passwords.js';
import { validateRoles } from './provision.js';
import type { TokenService } from './tokens.js';
import { LoginStamps } from './login-stamps.js';
import { hasControlCharacter, validateUsername } from './username.js';

/** An account id: 1 to 128 of these characters (a UUID, an app's own user id, an email, a public key string). */
const ACCOUNT_ID = /^[\w.~:@+=|-]{1,128}$/;
/** Limit: accounts one list call answers. */
export const ACCOUNT_PAGE_MAX = 500;
/** Limit: the longest prefix a list call filters by. */
export const ACCOUNT_QUERY_MAX = 256;
/** Limit: keys one account may link. */
export const ACCOUNT_KEYS_MAX = 32;
/** A login moves lastLoginAt only when it is older than this: no write per handshake. */
export const LAST_LOGIN_PRECISION_MS = 60_000;
/** Bytes of CSPRNG output in a key-linking challenge, after its purpose. */
const LINK_CHALLENGE_BYTES = 32;
/** What a key-linking challenge begins with. */
const LINK_PURPOSE = Buffer.from('keygate: link this key to an account\n');

/** An account as the account API and the CLI show it. */
export interface AccountView {
  id: string;
  username: string | null;
  publicKeys: string[];
  roles: string[];
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export function accountView(a: AccountRecord): AccountView {
  return {
    id: a.id,
    username: a.username,
    publicKeys: a.publicKeys,
    roles: a.roles,
    disabled: a.disabled,
    createdAt: new Date(a.createdAt).toISOString(),
    lastLoginAt: a.lastLoginAt === null ? null : new Date(a.lastLoginAt).toISOString(),
  };
}

/** Checks an account id given by an app or an operator. */
export function validateAccountId(id: unknown): string {
  if (typeof id !== 'string' || !ACCOUNT_ID.test(id)) {
    throw new AuthError('invalid_request', 'id must be 1 to 128 characters: letters, digits and . _ ~ : @ + = | -');
  }
  return id;
}

/** What the account API creates. */
export interface NewAccount {
  id?: unknown;
  username?: unknown;
  password?: unknown;
  roles?: unknown;
}

/** What the account API may change. */
export interface AccountChanges {
  roles?: unknown;
  disabled?: unknown;
}

export interface AccountServiceOptions {
  store: RecordStore;
  state: StateStore;
  hasher: PasswordHasher;
  tokens: TokenService;
  events: CoreEmitter;
  /** How long a key-linking challenge may be answered. */
  challengeTtlMs: number;
  now?: () => number;
  onEventError?: (err: unknown) => void;
}

export class AccountService {
  private readonly now: () => number;
  /** Last-login stamps not yet written. */
  private readonly stamps: LoginStamps;

  constructor(private readonly options: AccountServiceOptions) {
    this.now = options.now ?? (() => Date.now());
    this.stamps = new LoginStamps(options.store, options.onEventError);
  }

  /**
   * Creates an account. An id or username that exists already is duplicate_entity with
   * the existing account's id (get-or-create callers ignore it). Without an id, a password
   * user gets a UUID.
   */
  async create(input: NewAccount): Promise<AccountRecord> {
    const id = input.id === undefined ? randomUUID() : validateAccountId(input.id);
    const username = input.username === undefined || input.username === null ? null : validateUsername(input.username);
    if (input.password !== undefined && username === null) throw new AuthError('invalid_request', 'A password needs a username to log in with.');
    const password = input.password === undefined ? undefined : validatePassword(input.password);
    const roles = input.roles === undefined ? [] : validateRoles(input.roles);
    return this.insert({ id, username, password, roles }, 'api');
  }

  /**
   * Adds an account from checked fields (the account API, self-registration): its password
   * hashed, the key of an id that is a public key string linked. An id, username or key that
   * exists already is duplicate_entity with the existing account's id.
   */
  async insert(fields: { id: string; username: string | null; password: string | undefined; roles: string[] }, by: string): Promise<AccountRecord> {
    const { id, username, password, roles } = fields;
    const { store, hasher } = this.options;
    // An account whose id is a public key string has that key, as if made by its first login.
    const publicKeys = isPublicKey(id) ? [id] : [];
    await this.refuseExisting(id, username, publicKeys[0]);
    const account: AccountRecord = {
      id, username, passwordHash: password === undefined ? null : await hasher.hash(password),
      publicKeys, roles, disabled: false, createdAt: this.now(), lastLoginAt: null,
    };
    try {
      await store.createAccount(account);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'conflict') {
        await this.refuseExisting(id, username, publicKeys[0]);
      }
      throw err;
    }
    this.changed({ id, change: 'created', by });
    return account;
  }

  private async refuseExisting(id: string, username: string | null, pubkey: string | undefined): Promise<void> {
    const { store } = this.options;
    const existing = (await store.getAccount(id))
      ?? (username === null ? undefined : await store.getAccountByUsername(username))
      ?? (pubkey === undefined ? undefined : await store.getAccountByKey(pubkey));
    if (existing) {
      const what = existing.id === id ? 'An account with that id' : existing.username === username ? 'That username' : 'That key\'s account';
      throw new AuthError('duplicate_entity', `${what} exists already.`, { details: { id: existing.id } });
    }
  }

  /**
   * The account with this id, public key string or username, in that order. Without
   * `usernames`, a ref is an id or a key only: what changes an account must not land on a
   * self-registered user whose chosen name happens to be an app's user id.
   */
  async find(ref: unknown, { usernames = true }: { usernames?: boolean } = {}): Promise<AccountRecord | undefined> {
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 256 || hasControlCharacter(ref)) return undefined;
    const { store } = this.options;
    const byId = ACCOUNT_ID.test(ref) ? await store.getAccount(ref) : undefined;
    if (byId) return this.withStamp(byId);
    if (ref.startsWith('b')) {
      const byKey = await store.getAccountByKey(ref);
      if (byKey) return this.withStamp(byKey);
    }
    if (!usernames) return undefined;
    let byName: AccountRecord | undefined;
    try {
      byName = await store.getAccountByUsername(validateUsername(ref));
    } catch {
      return undefined;
    }
    return byName && this.withStamp(byName);
  }

  /** Like {@link find}, but not_found when there is none. */
  async get(ref: unknown, options: { usernames?: boolean } = {}): Promise<AccountRecord> {
    const account = await this.find(ref, options);
    if (!account) throw new AuthError('not_found', options.usernames === false ? 'No account has that id or public key.' : 'No account has that id, public key or username.');
    return account;
  }

  /**
   * Changes roles and the disabled flag. Disabling ends every token and session of the
   * account at once; removed roles leave the scope of its logins at their next refresh.
   */
  async update(ref: unknown, changes: AccountChanges, resolve: { usernames?: boolean } = {}): Promise<AccountRecord> {
    const roles = changes.roles === undefined ? undefined : validateRoles(changes.roles);
    if (changes.disabled !== undefined && typeof changes.disabled !== 'boolean') throw new AuthError('invalid_request', 'disabled must be true or false.');
    const disabled = changes.disabled;
    const account = await this.get(ref, resolve);
    await this.options.store.updateAccount(account.id, { roles, disabled });
    if (disabled === true) await this.options.tokens.revokeSubject(account.id, 'account disabled');
    else await this.options.tokens.accountChanged();
    if (roles !== undefined) this.changed({ id: account.id, change: 'roles', roles });
    if (disabled !== undefined) this.changed({ id: account.id, change: disabled ? 'disabled' : 'enabled' });
    return { ...account, roles: roles ?? account.roles, disabled: disabled ?? account.disabled };
  }

  /** Deletes an account and ends every token and session of it, and of every key it had. */
  async delete(ref: unknown, resolve: { usernames?: boolean } = {}): Promise<AccountRecord> {
    const account = await this.get(ref, resolve);
    await this.options.store.deleteAccount(account.id);
    const { tokens } = this.options;
    await tokens.revokeSubject(account.id, 'account deleted');
    for (const key of account.publicKeys) await tokens.revokeSubject(keySubject(key), 'account deleted');
    // A login's stamp must not land on a new account made later with the same id.
    this.stamps.forget(account.id);
    this.changed({ id: account.id, change: 'deleted' });
    return account;
  }

  /** A page of accounts, and how many match. */
  async list(query: { offset?: unknown; limit?: unknown; query?: unknown }): Promise<{ accounts: AccountRecord[]; total: number; offset: number; limit: number }> {
    const offset = query.offset === undefined ? 0 : wholeNumber(query.offset);
    const limit = query.limit === undefined ? 100 : wholeNumber(query.limit);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new AuthError('invalid_request', 'offset must be a whole number, 0 or more.');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > ACCOUNT_PAGE_MAX) throw new AuthError('invalid_request', `limit must be 1 to ${ACCOUNT_PAGE_MAX}.`);
    if (query.query !== undefined && (typeof query.query !== 'string' || query.query.length > ACCOUNT_QUERY_MAX || hasControlCharacter(query.query))) {
      throw new AuthError('invalid_request', `query must be a string of at most ${ACCOUNT_QUERY_MAX} characters, without control characters.`);
    }
    const prefix = query.query as string | undefined;
    const { store } = this.options;
    const [accounts, total] = await Promise.all([store.listAccounts({ offset, limit, prefix }), store.countAccounts({ prefix })]);
    return { accounts: accounts.map((a) => this.withStamp(a)), total, offset, limit };
  }

  /**
   * The account a live access token belongs to (GET /api/me and the key routes). With
   * `login`, only a token from a login by its holder (password or key) will do: not a
   * provisioned one, which an app backend asked for. With `loggedInSince`, only a login made
   * at or after that time (ms), not a copy of an older one.
   */
  async ofToken(token: unknown, options: { login?: boolean; loggedInSince?: number } = {}): Promise<AccountRecord> {
    const { claims, startedAt, precisionMs } = await this.options.tokens.loginOf(token);
    if (options.login && claims.amr === undefined) throw new AuthError('forbidden', 'A provisioned token cannot change its account; log in.');
    // A password login's start is known to the millisecond; a keypair login's only to the
    // second (its token's iat), so one in the same second as `loggedInSince` counts.
    if (options.loggedInSince !== undefined && startedAt + precisionMs <= options.loggedInSince) {
      throw new AuthError('forbidden', 'Log in again: this needs a login made for it, not an earlier one.');
    }
    const account = await this.options.store.getAccount(claims.sub);
    if (!account) throw new AuthError('not_found', 'This token\'s login has no account (it is from before accounts); log in again.');
    return this.withStamp(account);
  }

  /** The account a key is linked to, if any (a keypair login looks before it sends a challenge). */
  forKey(pubkey: string): Promise<AccountRecord | undefined> {
    return this.options.tokens.accountOfKey(pubkey);
  }

  /**
   * A new account for a key that has just proven itself and has none: its id is the key string
   * (a UUID if that id is taken). Of racing first logins of one key, all get the one account.
   */
  async ofProvenKey(pubkey: string): Promise<AccountRecord> {
    // The caller has just found no account for the key; one made meanwhile is found on conflict.
    return this.createForKey(pubkey, 'keypair login', this.now());
  }

  /**
   * The account of an app's own user id, created if missing (provisioning). A user id that is
   * some account's username resolves to that account only by id. A public key string names the
   * key's own account: the one it is linked to now, or a new one that holds it, made as the
   * key's first login would make it, so that the key's logins and the tokens provisioned for
   * it share one account and one `sub` (never an account whose id is the key but that no longer
   * holds it).
   */
  async ofAppUser(id: unknown): Promise<AccountRecord> {
    const userId = validateAccountId(id);
    const { store } = this.options;
    if (isPublicKey(userId)) return await store.getAccountByKey(userId) ?? this.createForKey(userId, 'provision', null);
    const existing = await store.getAccount(userId);
    if (existing) return existing;
    const account: AccountRecord = { id: userId, username: null, passwordHash: null, publicKeys: [], roles: [], disabled: false, createdAt: this.now(), lastLoginAt: null };
    try {
      await store.createAccount(account);
      this.changed({ id: userId, change: 'created', by: 'provision' });
      return account;
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'conflict') throw err;
      const winner = await store.getAccount(userId);
      if (!winner) throw err;
      return winner;
    }
  }

  /** A new account holding a key: its id the key, or a UUID when that id is taken; the key's account if it was linked meanwhile. */
  private async createForKey(pubkey: string, by: string, lastLoginAt: number | null): Promise<AccountRecord> {
    const { store } = this.options;
    const at = this.now();
    for (const id of [pubkey, randomUUID()]) {
      const account: AccountRecord = { id, username: null, passwordHash: null, publicKeys: [pubkey], roles: [], disabled: false, createdAt: at, lastLoginAt };
      try {
        await store.createAccount(account);
        this.changed({ id, change: 'created', by });
        return account;
      } catch (err) {
        if (!(err instanceof StoreError) || err.code !== 'conflict') throw err;
        const winner = await store.getAccountByKey(pubkey);
        if (winner) return winner;
        // The id is taken by an account the key is not linked to: try a UUID.
      }
    }
    throw new AuthError('server_error', 'Could not create an account for the key.');
  }

  private changed(event: AccountChangedEvent): void {
    emitSafely(this.options.events, 'account.changed', event, this.options.onEventError);
  }

  /** Records a login; lastLoginAt moves only when it is older than LAST_LOGIN_PRECISION_MS. */
  recordLogin(account: AccountRecord): void {
    const now = this.now();
    if (account.lastLoginAt !== null && now - account.lastLoginAt < LAST_LOGIN_PRECISION_MS) return;
    // Not a commit per login: written with the other stamps of the last LOGIN_STAMP_FLUSH_MS.
    this.stamps.record(account.id, now);
    // The record may be the one remembered for its key: keep it current, so the next login stamps nothing.
    account.lastLoginAt = now;
  }

  /** Writes the last-login stamps recorded so far, in one commit. */
  flushLogins(): Promise<void> {
    return this.stamps.flush();
  }

  /** Stops the timer and writes the stamps left. */
  close(): Promise<void> {
    return this.stamps.close();
  }

  /** The record with this instance's stamp not yet written (queued or being written), if it has a later one. */
  private withStamp(account: AccountRecord): AccountRecord {
    const stamp = this.stamps.of(account.id);
    return stamp === undefined || (account.lastLoginAt ?? 0) >= stamp ? account : { ...account, lastLoginAt: stamp };
  }

  /**
   * Step 1 of linking a key: a fresh single-use challenge, bound to this account and key,
   * that the holder of the key must sign. Asking again replaces it.
   */
  async linkChallenge(account: AccountRecord, pubkey: unknown): Promise<{ value: Buffer; expiresAt: number }> {
    const identity = parsePublicKey(pubkey);
    if (account.publicKeys.includes(identity.id)) throw new AuthError('key_linked', 'That key is linked to this account already.');
    // The purpose comes first, so no login challenge (32 random bytes, here or on any Textile
    // server) can ever be a link challenge: a key that signs challenges elsewhere links nothing here.
    const value = Buffer.concat([LINK_PURPOSE, randomBytes(LINK_CHALLENGE_BYTES)]);
    const expiresAt = this.now() + this.options.challengeTtlMs;
    await this.options.state.set(linkKey(account.id, identity.id), value.toString('base64'), this.options.challengeTtlMs);
    return { value, expiresAt };
  }

  /** Step 2: the key's signature of the challenge links it (the challenge is spent either way). */
  async link(account: AccountRecord, pubkey: unknown, sig: unknown): Promise<AccountRecord> {
    const identity: PublicIdentity = parsePublicKey(pubkey);
    const signature = readSignatureBytes(sig);
    const stored = await this.options.state.take(linkKey(account.id, identity.id));
    if (stored === undefined) throw new AuthError('no_challenge');
    if (!verifySignature(identity, Buffer.from(stored, 'base64'), signature)) {
      throw new AuthError('invalid_signature', 'The signature does not verify for this public key and challenge.');
    }
    if (account.publicKeys.length >= ACCOUNT_KEYS_MAX) throw new AuthError('invalid_request', `An account may link at most ${ACCOUNT_KEYS_MAX} keys.`);
    let linked: boolean;
    try {
      linked = await this.options.store.linkKey(account.id, identity.id, this.now());
    } catch (err) {
      if (err instanceof StoreError && err.code === 'conflict') throw new AuthError('key_linked', 'That key is linked to an account already; unlink it there first.');
      throw err;
    }
    if (!linked) throw new AuthError('not_found', 'The account no longer exists.');
    await this.options.tokens.accountChanged();
    this.changed({ id: account.id, change: 'key_linked', pubkey: identity.id });
    return { ...account, publicKeys: [...account.publicKeys, identity.id] };
  }

  /**
   * Unlinks a key; every token its logins got ends at once. An account must keep a way to
   * log in: its last key goes only if it has a password.
   */
  async unlink(account: AccountRecord, pubkey: unknown): Promise<AccountRecord> {
    if (typeof pubkey !== 'string') throw new AuthError('invalid_pubkey');
    // The store checks both where it unlinks, so concurrent unlinks of its keys cannot leave it none.
    const outcome = await this.options.store.unlinkKey(account.id, pubkey);
    if (outcome === 'not_linked') throw new AuthError('not_found', 'That key is not linked to this account.');
    if (outcome === 'last_credential') throw new AuthError('last_credential', 'This is the account\'s only way to log in; it cannot be unlinked.');
    await this.options.tokens.revokeSubject(keySubject(pubkey), 'key unlinked');
    this.changed({ id: account.id, change: 'key_unlinked', pubkey });
    return { ...account, publicKeys: account.publicKeys.filter((k) => k !== pubkey) };
  }
}

const linkKey = (accountId: string, pubkey: string) => `link:${accountId}:${pubkey}`;

function isPublicKey(id: string): boolean {
  try {
    parsePublicKey(id);
    return true;
  } catch {
    return false;
  }
}
