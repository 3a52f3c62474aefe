/** PostgreSQL schema migrations, applied in order; keygate_migrations records those applied. Times are ms since the epoch. */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE signing_keys (
     kid TEXT PRIMARY KEY,
     private_key TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     retired_at BIGINT
   );
   -- Exactly one key signs.
   CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
   CREATE TABLE users (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE,
     password_hash TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     disabled BOOLEAN NOT NULL DEFAULT false,
     roles JSONB NOT NULL DEFAULT '[]'
   );
   CREATE TABLE sessions (
     sid TEXT PRIMARY KEY,
     sub TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     revoked_at BIGINT,
     scope TEXT
   );
   CREATE INDEX sessions_sub ON sessions (sub);
   CREATE INDEX sessions_expiry ON sessions (expires_at);
   CREATE TABLE refresh_tokens (
     hash TEXT PRIMARY KEY,
     sid TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     used_at BIGINT,
     replaced_by TEXT
   );
   CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
   CREATE TABLE revoked_tokens (
     jti TEXT PRIMARY KEY,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
   CREATE TABLE revoked_subjects (
     sub TEXT PRIMARY KEY,
     revoked_at BIGINT NOT NULL
   );`,
  // A sequence: nextval never waits on a lock and is never rolled back.
  `CREATE SEQUENCE revocation_epoch;`,
  // Every principal is an account; password users become accounts with the same ids.
  `ALTER TABLE users RENAME TO accounts;
   ALTER TABLE accounts ALTER COLUMN username DROP NOT NULL;
   ALTER TABLE accounts ALTER COLUMN password_hash DROP NOT NULL;
   ALTER TABLE accounts ADD COLUMN last_login_at BIGINT;
   ALTER TABLE accounts RENAME CONSTRAINT users_pkey TO accounts_pkey;
   ALTER TABLE accounts RENAME CONSTRAINT users_username_key TO accounts_username_key;
   CREATE TABLE account_keys (
     pubkey TEXT PRIMARY KEY,
     account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
     linked_at BIGINT NOT NULL
   );
   CREATE INDEX account_keys_account ON account_keys (account_id);`,
  `CREATE TABLE audit_events (
     id BIGSERIAL PRIMARY KEY,
     at BIGINT NOT NULL,
     type TEXT NOT NULL,
     subject TEXT,
     address TEXT,
     door TEXT,
     code TEXT,
     detail JSONB NOT NULL DEFAULT '{}'
   );
   CREATE INDEX audit_events_at ON audit_events (at);
   CREATE INDEX audit_events_subject ON audit_events (subject, id);`,
];
