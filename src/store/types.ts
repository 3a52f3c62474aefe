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

  /** Releases connections and files. Further calls reject. */
  close(): Promise<void>;
}
