/**
 * The storage contract. Every backend (SQLite now; PostgreSQL later) implements
 * {@link Store} and must pass the one shared suite in test/store/contract.ts unchanged.
 *
 * Rules every backend keeps:
 * - All methods are async and safe to call concurrently from many requests.
 * - Times are milliseconds since the epoch (numbers), never Date objects.
 * - A write has reached durable storage when its promise resolves.
 * - Violating a uniqueness rule rejects with AuthError('duplicate_entity').
 * - Records come back as plain objects; mutating them does not change the store.
 */

/** One Ed25519 key that signs (or once signed) tokens. */
export interface SigningKeyRecord {
  /** Key id: the JWK thumbprint (RFC 7638) of the public key. Unique. */
  kid: string;
  /** PKCS#8 PEM of the private key. Never leaves the server. */
  privatePem: string;
  /** When the key was made. The newest key that is not retired signs new tokens. */
  createdAt: number;
  /** When the key stopped signing, or null while it may sign. */
  retiredAt: number | null;
}

/** A password user. */
export interface UserRecord {
  /** Opaque unique id (a UUID); the token's `sub`. */
  id: string;
  /** Normalised (NFKC, lower case) username. Unique. */
  username: string;
  /** argon2id PHC string. */
  passwordHash: string;
  createdAt: number;
  disabled: boolean;
  /** Scopes the user may be granted. */
  roles: string[];
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
}

/** What {@link Store.consumeRefreshToken} found. */
export type ConsumeResult =
  | { outcome: 'consumed'; token: RefreshTokenRecord }
  | { outcome: 'reused'; token: RefreshTokenRecord }
  | { outcome: 'unknown' };

export interface Store {
  /** Which backend this is, for logs ("sqlite", "postgres"). */
  readonly kind: string;

  /** Adds a signing key. A kid that exists already: duplicate_entity. */
  addSigningKey(record: SigningKeyRecord): Promise<void>;
  /** Every signing key, oldest first. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Marks a key as no longer signing. Returns false when no such key exists. */
  retireSigningKey(kid: string, at: number): Promise<boolean>;
  /** Deletes a key (after every token it signed has expired). Returns whether it existed. */
  deleteSigningKey(kid: string): Promise<boolean>;

  /** Adds a user. A username (or id) that exists already: duplicate_entity. */
  createUser(user: UserRecord): Promise<void>;
  getUserById(id: string): Promise<UserRecord | undefined>;
  /** Looks up by the normalised username. */
  getUserByUsername(username: string): Promise<UserRecord | undefined>;
  /** Changes some fields of a user. Returns false when no such user exists. */
  updateUser(id: string, patch: Partial<Pick<UserRecord, 'passwordHash' | 'disabled' | 'roles'>>): Promise<boolean>;
  /** Users ordered by username, `limit` at most, after skipping `offset`. */
  listUsers(options: { offset: number; limit: number }): Promise<UserRecord[]>;
  countUsers(): Promise<number>;

  /** Adds a session. A sid that exists already: duplicate_entity. */
  createSession(session: SessionRecord): Promise<void>;
  getSession(sid: string): Promise<SessionRecord | undefined>;
  /** Revokes a session (first revocation time wins). Returns false when no such session exists. */
  revokeSession(sid: string, at: number): Promise<boolean>;
  /** Revokes every unrevoked session of a subject; returns how many. */
  revokeSessionsOfSubject(sub: string, at: number): Promise<number>;

  /** Adds a refresh token. A hash that exists already: duplicate_entity. */
  addRefreshToken(token: RefreshTokenRecord): Promise<void>;
  /**
   * Atomically marks an unused refresh token used. 'consumed' for exactly one caller per
   * token, however many race; 'reused' when it had been used before; 'unknown' otherwise.
   * Expiry is not checked here.
   */
  consumeRefreshToken(hash: string, at: number): Promise<ConsumeResult>;

  /** Records that the access token `jti` is revoked; kept until `expiresAt`. Idempotent. */
  revokeToken(jti: string, expiresAt: number): Promise<void>;
  isTokenRevoked(jti: string): Promise<boolean>;
  /** Records that every token of `sub` issued at or before `at` is revoked (a later `at` wins). */
  revokeSubject(sub: string, at: number): Promise<void>;
  /** The latest revokeSubject time for `sub`, if any. */
  subjectRevokedAt(sub: string): Promise<number | undefined>;

  /** Deletes refresh tokens, sessions and token revocations that expired before `now`; returns how many rows. */
  purgeExpired(now: number): Promise<number>;

  /** Resolves when the store answers a trivial query (health checks). */
  ping(): Promise<void>;

  /** Releases connections and files. Further calls reject. */
  close(): Promise<void>;
}
