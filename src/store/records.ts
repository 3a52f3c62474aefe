/**
 * The contract of durable records: signing keys, accounts, sessions, refresh tokens and
 * revocations. Every backend (SQLite in DATA_DIR, PostgreSQL with DATABASE_URL) implements
 * {@link RecordStore} and passes the one shared suite in test/store/records-contract.ts
 * unchanged. Short-lived shared state (limits, single-use values) is the other contract,
 * {@link StateStore} in ./state.ts.
 *
 * Rules every backend keeps:
 * - All methods are async and safe to call concurrently from many requests and instances.
 * - Times are milliseconds since the epoch (numbers), never Date objects.
 * - A write has reached durable storage when its promise resolves.
 * - A multi-row change (a session with its first refresh token, a rotation) is one commit.
 * - Violating a uniqueness rule rejects with StoreError('conflict'); a backend that does not
 *   answer (down, restarting, past its timeout) rejects with StoreError('unavailable'), fast.
 * - Records come back as plain objects; mutating them does not change the store.
 */

/** One Ed25519 key that signs (or once signed) tokens. */
export interface SigningKeyRecord {
  /** Key id: the JWK thumbprint (RFC 7638) of the public key. Unique. */
  kid: string;
  /** The private key, sealed with SIGNING_KEY_SECRET (core/key-seal.ts); a plaintext PKCS#8 PEM only in stores from before sealing. */
  privateKey: string;
  /** When the key was made. The one key that is not retired signs new tokens. */
  createdAt: number;
  /** When the key stopped signing, or null while it may sign. */
  retiredAt: number | null;
}

/**
 * An account: every principal is one. Password users have a username and a password hash;
 * keypair identities have public keys (an account made at a key's first login has that key
 * as its id); accounts an app backend creates may have neither.
 */
export interface AccountRecord {
  /** Unique id; the token's `sub`. */
  id: string;
  /** Normalised (NFKC, lower case) username, unique; null for none. */
  username: string | null;
  /** argon2id PHC string; null for an account with no password. */
  passwordHash: string | null;
  /** Ed25519 identity strings linked to the account, oldest link first. A key belongs to at most one account. */
  publicKeys: string[];
  /** Scopes the account may be granted. */
  roles: string[];
  disabled: boolean;
  createdAt: number;
  /** The last successful login (to the precision the core records it), or null. */
  lastLoginAt: number | null;
}

/** The fields of an account {@link RecordStore.updateAccount} may change. */
export type AccountPatch = Partial<Pick<AccountRecord, 'passwordHash' | 'disabled' | 'roles' | 'lastLoginAt'>>;

/** Which accounts {@link RecordStore.listAccounts} answers. */
export interface AccountQuery {
  offset: number;
  limit: number;
  /** Only accounts whose id, username or a linked key starts with this. */
  prefix?: string;
}

/** One login: the chain of refresh tokens that descends from it. */
export interface SessionRecord {
  /** Session id; tokens of the session carry it as `sid`. Unique. */
  sid: string;
  /** The subject the session belongs to. */
  sub: string;
  createdAt: number;
  /** No refresh token of the session is valid after this. */
  expiresAt: number;
  /** When the session (and every token of it) was revoked, or null. */
  revokedAt: number | null;
  /** The scope granted at login, kept (never widened) by every token of the session; null for none. */
  scope: string | null;
}

/**
 * A session as its tokens know it. A keypair login's session lives only in its tokens
 * (no row is written per handshake) until it is ended; ending it stores this much.
 */
export interface SessionRef {
  sid: string;
  sub: string;
  /** No token of the session can be valid after this. */
  expiresAt: number;
}

/** A refresh token, stored only as a hash. */
export interface RefreshTokenRecord {
  /** SHA-256 of the token, hex. Unique. */
  hash: string;
  sid: string;
  createdAt: number;
  expiresAt: number;
  /** When it was exchanged, or null while unused. */
  usedAt: number | null;
  /** The hash of the token it was exchanged for, or null while unused. */
  replacedBy: string | null;
}

/** Everything that can end an access token, as {@link RecordStore.tokenStanding} reads it in one go. */
export interface TokenStanding {
  jtiRevoked: boolean;
  /** The token's session, if it was stored. */
  session: SessionRecord | undefined;
  /** The latest revokeSubject time of the token's subject, or of its key's {@link keySubject} when asked for, if any. */
  subjectRevokedAt: number | undefined;
  /** The subject's account (undefined when there is none). */
  account: { disabled: boolean } | undefined;
  /** When a pubkey was asked about: whether it is linked to the subject's account now. */
  keyLinked?: boolean;
}

/**
 * The revocation subject of a key (an unlinked key, a deleted account's keys): its own
 * namespace, so that it never meets an account whose id is a public key string.
 */
export const keySubject = (pubkey: string): string => `key:${pubkey}`;

/** One security event of the audit log. Never a secret, password or token. */
export interface AuditEvent {
  /** When it happened (ms since the epoch). */
  at: number;
  /** What happened: 'login.succeeded', 'login.refused', 'token.revoked', 'account.created', ... */
  type: string;
  /** Whom it is about (an account id, a key), if anyone. */
  subject: string | null;
  /** The client address, if known. */
  address: string | null;
  /** The front door, for logins. */
  door: string | null;
  /** The stable error code, for refusals. */
  code: string | null;
  /** Anything else worth keeping (small, plain JSON). */
  detail: Record<string, unknown>;
}

/** An audit event as stored: with its id, in the order of appending. */
export interface AuditRecord extends AuditEvent {
  id: number;
}

/** Which audit events {@link RecordStore.queryAudit} answers, oldest first. */
export interface AuditQuery {
  subject?: string;
  type?: string;
  /** At or after this time (ms). */
  since?: number;
  /** Only events with a larger id (paging). */
  afterId?: number;
  limit: number;
}

/** What identifies a token to {@link RecordStore.tokenStanding}. */
export interface StandingQuery {
  jti: string;
  sid: string | undefined;
  sub: string;
  /** The key a keypair login proved: its revocation (an unlinked key) counts as the subject's. */
  pubkey: string | undefined;
}

/** A refresh token to exchange for its successor: what {@link RecordStore.rotateRefreshToken} takes. */
export interface Rotation {
  /** Hash of the token presented. */
  hash: string;
  /** The successor to add if the presented token is unused; it takes the presented token's `sid` and `expiresAt`. */
  successor: Omit<RefreshTokenRecord, 'sid' | 'expiresAt'>;
  /** The time of the exchange. */
  at: number;
  /**
   * How long after its use a repeat of the same token, whose successor is still unused,
   * is answered as a repeat instead of as reuse (a lost reply, two tabs at once); 0: never,
   * not even for a racer that read the clock before the winner did.
   */
  reuseIntervalMs: number;
}

/**
 * The rule every backend applies to a refresh token that was spent already: a repeat (answered
 * with the same successor) only for the successor it was spent for, while that successor is
 * unused and within the reuse interval (0: never); anything else is reuse.
 */
export function isRepeat(spent: RefreshTokenRecord, rotation: Rotation, successorUnused: boolean): boolean {
  const { successor, at, reuseIntervalMs } = rotation;
  return spent.usedAt !== null && spent.replacedBy === successor.hash && successorUnused && reuseIntervalMs > 0 && at - spent.usedAt <= reuseIntervalMs;
}

/** What {@link RecordStore.rotateRefreshToken} did. */
export type RotationResult =
  /** The token was unused: it is spent and the successor added, in one commit. */
  | { outcome: 'rotated'; token: RefreshTokenRecord; session: SessionRecord | undefined }
  /** The token was spent within the reuse interval for this same successor, which is still unused. */
  | { outcome: 'repeated'; token: RefreshTokenRecord; session: SessionRecord | undefined }
  /** The token was spent before, otherwise: its session is revoked at `at` in the same commit. */
  | { outcome: 'reused'; token: RefreshTokenRecord; session: SessionRecord | undefined }
  | { outcome: 'unknown' };

export interface RecordStore {
  /** Which backend this is, for logs ("sqlite", "postgres"). */
  readonly kind: string;

  /**
   * Adds a signing key. A kid that exists already, or a second key that is not retired
   * (exactly one key signs; of several instances adding their first key at once, one wins): conflict.
   */
  addSigningKey(record: SigningKeyRecord): Promise<void>;
  /** Every signing key, oldest first. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** In one commit: retires the signing key at `at` and adds `record` as the one that signs. */
  rotateSigningKey(record: SigningKeyRecord, at: number): Promise<void>;
  /** Replaces a key's stored private key with its sealed form. Returns false when no such key exists. */
  sealSigningKey(kid: string, privateKey: string): Promise<boolean>;
  /** Deletes a key (after every token it signed has expired). Returns whether it existed. */
  deleteSigningKey(kid: string): Promise<boolean>;

  /**
   * Adds an account with its public keys, in one commit. An id, username or key that exists
   * already: conflict (of any number of racing creators of one id, exactly one succeeds).
   */
  createAccount(account: AccountRecord): Promise<void>;
  getAccount(id: string): Promise<AccountRecord | undefined>;
  /** Looks up by the normalised username. */
  getAccountByUsername(username: string): Promise<AccountRecord | undefined>;
  /** The account a public key is linked to. */
  getAccountByKey(pubkey: string): Promise<AccountRecord | undefined>;
  /** Changes some fields of an account in one statement. Returns false when no such account exists. */
  updateAccount(id: string, patch: AccountPatch): Promise<boolean>;
  /**
   * Stamps the last login of many accounts in one commit: each `lastLoginAt` moves to `at`
   * unless it is later already. The ids are distinct and sorted (so that concurrent
   * writers lock rows in one order); those of accounts that no longer exist are ignored.
   */
  recordLogins(stamps: ReadonlyArray<{ id: string; at: number }>): Promise<void>;
  /** Deletes an account and its key links in one commit. Returns whether it existed. */
  deleteAccount(id: string): Promise<boolean>;
  /**
   * Links a key to an account. False when the account does not exist; conflict when the key
   * is linked to any account (this one included).
   */
  linkKey(id: string, pubkey: string, at: number): Promise<boolean>;
  /**
   * Unlinks a key from an account, atomically unless the account keeps a way to log in (another
   * key or a password): 'last_credential' then, and 'not_linked' when it was not linked to it.
   * Of concurrent unlinks of an account's keys, at most all but its last succeed.
   */
  unlinkKey(id: string, pubkey: string): Promise<'unlinked' | 'not_linked' | 'last_credential'>;
  /** Accounts ordered by id, `limit` at most, after skipping `offset`. */
  listAccounts(query: AccountQuery): Promise<AccountRecord[]>;
  countAccounts(query?: Pick<AccountQuery, 'prefix'>): Promise<number>;

  /**
   * Adds a session and its first refresh token in one commit (both or neither). A sid or
   * hash that exists already: conflict.
   */
  createSession(session: SessionRecord, firstToken: RefreshTokenRecord): Promise<void>;
  getSession(sid: string): Promise<SessionRecord | undefined>;
  /**
   * Ends a session: marks it revoked at `at` (the first revocation time wins). A session
   * that was never stored (a keypair login's) is stored as revoked, so that every token
   * that carries its sid is refused until `expiresAt`.
   */
  endSession(session: SessionRef, at: number): Promise<void>;
  /** Revokes every unrevoked stored session of a subject; returns how many. */
  revokeSessionsOfSubject(sub: string, at: number): Promise<number>;

  getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Exchanges a refresh token for its successor in one commit. Exactly one of any number
   * of racing callers with an unused token gets 'rotated'; the others see it spent
   * ('repeated' within the reuse interval for the same successor, else 'reused', which
   * revokes the session in the same commit). Expiry and revocation are not checked here.
   */
  rotateRefreshToken(rotation: Rotation): Promise<RotationResult>;

  /** Records that the access token `jti` is revoked; kept until `expiresAt`. Idempotent. */
  revokeToken(jti: string, expiresAt: number): Promise<void>;
  isTokenRevoked(jti: string): Promise<boolean>;
  /** Records that every token of `sub` issued at or before `at` is revoked (a later `at` wins). */
  revokeSubject(sub: string, at: number): Promise<void>;
  /** The latest revokeSubject time for `sub`, if any. */
  subjectRevokedAt(sub: string): Promise<number | undefined>;

  /**
   * Reads, in one round trip, everything that can end an access token: its jti's revocation,
   * its session, its subject's (and key's) revocation and its account's disabled flag.
   */
  tokenStanding(query: StandingQuery): Promise<TokenStanding>;

  /**
   * A number that only grows, by at least one with every {@link bumpRevocationEpoch}: an
   * instance that remembers checks of live tokens reads it to learn that something was
   * revoked anywhere since. Cheap: it is read a few times a second per instance.
   */
  revocationEpoch(): Promise<number>;
  /** Advances the revocation epoch; called after every revocation is stored. */
  bumpRevocationEpoch(): Promise<void>;

  /** Appends audit events in one commit, in order; each gets a larger id than every earlier one. */
  appendAudit(events: readonly AuditEvent[]): Promise<void>;
  /** Audit events matching the query, by id ascending, `limit` at most. */
  queryAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** Deletes audit events from before `before` (ms); returns how many. */
  purgeAudit(before: number): Promise<number>;

  /** Deletes refresh tokens, sessions and token revocations that expired before `now`; returns how many rows. */
  purgeExpired(now: number): Promise<number>;

  /** Resolves when the store answers a trivial query (health checks). */
  ping(): Promise<void>;

  /** Releases connections and files. Further calls reject. */
  close(): Promise<void>;
}
