/** The embedded default store: one SQLite file in DATA_DIR (better-sqlite3, WAL). */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { isRepeat, keySubject, type RefreshTokenRecord, type Rotation, type RotationResult, type SessionRecord, type SessionRef, type SigningKeyRecord, type RecordStore, type TokenStanding, type AccountRecord, type AccountPatch, type AccountQuery, type StandingQuery, type AuditEvent, type AuditQuery, type AuditRecord } from './records.js';

/** Schema migrations, applied in order; PRAGMA user_version counts those applied. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE signing_keys (
     kid TEXT PRIMARY KEY,
     private_pem TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     retired_at INTEGER
   )`,
  `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE,
     password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0,
     roles TEXT NOT NULL DEFAULT '[]'
   );
   CREATE TABLE sessions (
     sid TEXT PRIMARY KEY,
     sub TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE INDEX sessions_sub ON sessions (sub);
   CREATE TABLE refresh_tokens (
     hash TEXT PRIMARY KEY,
     sid TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at INTEGER
   );
   CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
   CREATE TABLE revoked_tokens (
     jti TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL
   );
   CREATE TABLE revoked_subjects (
     sub TEXT PRIMARY KEY,
     revoked_at INTEGER NOT NULL
   );`,
  `ALTER TABLE sessions ADD COLUMN scope TEXT;
   ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT;`,
  // Exactly one key signs. Stores from before kept at most one unretired key after a
  // rotation, but a race of two first starts could leave two: the newest keeps signing.
  `ALTER TABLE signing_keys RENAME COLUMN private_pem TO private_key;
   UPDATE signing_keys SET retired_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
     WHERE retired_at IS NULL AND kid <> (SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1);
   CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;`,
  `CREATE TABLE revocation_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
   INSERT INTO revocation_epoch (id, value) VALUES (1, 0);`,
  // Every principal is an account; password users become accounts with the same ids.
  `CREATE TABLE accounts (
     id TEXT PRIMARY KEY,
     username TEXT UNIQUE,
     password_hash TEXT,
     created_at INTEGER NOT NULL,
     last_login_at INTEGER,
     disabled INTEGER NOT NULL DEFAULT 0,
     roles TEXT NOT NULL DEFAULT '[]'
   );
   INSERT INTO accounts (id, username, password_hash, created_at, disabled, roles)
     SELECT id, username, password_hash, created_at, disabled, roles FROM users;
   DROP TABLE users;
   CREATE TABLE account_keys (
     pubkey TEXT PRIMARY KEY,
     account_id TEXT NOT NULL,
     linked_at INTEGER NOT NULL
   );
   CREATE INDEX account_keys_account ON account_keys (account_id);`,
  `CREATE TABLE audit_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     type TEXT NOT NULL,
     subject TEXT,
     address TEXT,
     door TEXT,
     code TEXT,
     detail TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX audit_events_at ON audit_events (at);
   CREATE INDEX audit_events_subject ON audit_events (subject, id);`,
];

/** An account row with its keys, oldest link first, as one JSON array. */
const ACCOUNT_COLUMNS = `a.*, (SELECT json_group_array(pubkey) FROM (SELECT pubkey FROM account_keys k WHERE k.account_id = a.id ORDER BY linked_at, pubkey)) AS public_keys`;
/** Matches accounts whose id, username or a linked key starts with @prefix (an empty string matches all). */
const ACCOUNT_PREFIX = `(substr(a.id, 1, length(@prefix)) = @prefix OR substr(a.username, 1, length(@prefix)) = @prefix
  OR EXISTS (SELECT 1 FROM account_keys k WHERE k.account_id = a.id AND substr(k.pubkey, 1, length(@prefix)) = @prefix))`;

/** The database file and the files SQLite keeps beside it; all hold secrets. */
const DB_FILE = 'keygate.db';
const DB_SIDE_FILES = ['-wal', '-shm', '-journal'];

/**
 * Creates the database file owner-only before SQLite opens it (SQLite gives its -wal and
 * -shm files the mode of the database file), and repairs the mode of files made earlier,
 * whatever the directory's mode or the umask.
 */
function ownerOnly(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, DB_FILE);
  closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, ...DB_SIDE_FILES.map((suffix) => file + suffix)]) {
    if (existsSync(path)) chmodSync(path, 0o600);
  }
  return file;
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

type Row = Record<string, unknown>;

const toKey = (r: Row): SigningKeyRecord => ({
  kid: r.kid as string,
  privateKey: r.private_key as string,
  createdAt: r.created_at as number,
  retiredAt: r.retired_at as number | null,
});
const toAccount = (r: Row): AccountRecord => ({
  id: r.id as string,
  username: r.username as string | null,
  passwordHash: r.password_hash as string | null,
  publicKeys: JSON.parse(r.public_keys as string) as string[],
  roles: JSON.parse(r.roles as string) as string[],
  disabled: r.disabled === 1,
  createdAt: r.created_at as number,
  lastLoginAt: r.last_login_at as number | null,
});
const toSession = (r: Row): SessionRecord => ({
  sid: r.sid as string,
  sub: r.sub as string,
  createdAt: r.created_at as number,
  expiresAt: r.expires_at as number,
  revokedAt: r.revoked_at as number | null,
  scope: r.scope as string | null,
});
const toRefresh = (r: Row): RefreshTokenRecord => ({
  hash: r.hash as string,
  sid: r.sid as string,
  createdAt: r.created_at as number,
  expiresAt: r.expires_at as number,
  usedAt: r.used_at as number | null,
  replacedBy: r.replaced_by as string | null,
});

export class SqliteStore implements RecordStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens (creating if needed) `keygate.db` in `dir`, or an in-memory database for ':memory:'. */
  constructor(dir: string) {
    if (dir === ':memory:') {
      this.db = new Database(':memory:');
    } else {
      this.db = new Database(ownerOnly(dir));
      this.db.pragma('journal_mode = WAL');
    }
    // FULL: a committed write survives power loss, not just a crash of the process.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    const applied = this.db.pragma('user_version', { simple: true }) as number;
    const pending = SQLITE_MIGRATIONS.slice(applied);
    if (pending.length === 0) return;
    this.db.transaction(() => {
      for (const sql of pending) this.db.exec(sql);
      this.db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
    })();
  }

  /** Prepared statements, cached by their SQL. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private insert(text: string, ...params: unknown[]): void {
    try {
      this.sql(text).run(...params);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('conflict', 'The record exists already.', { cause: err });
      throw err;
    }
  }

  private get(text: string, ...params: unknown[]): Row | undefined {
    return this.sql(text).get(...params) as Row | undefined;
  }

  private all(text: string, ...params: unknown[]): Row[] {
    return this.sql(text).all(...params) as Row[];
  }

  private changes(text: string, ...params: unknown[]): number {
    return this.sql(text).run(...params).changes;
  }

  async addSigningKey(r: SigningKeyRecord): Promise<void> {
    this.insert('INSERT INTO signing_keys (kid, private_key, created_at, retired_at) VALUES (?, ?, ?, ?)', r.kid, r.privateKey, r.createdAt, r.retiredAt);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.all('SELECT * FROM signing_keys ORDER BY created_at, kid').map(toKey);
  }

  async rotateSigningKey(r: SigningKeyRecord, at: number): Promise<void> {
    this.db.transaction(() => {
      this.changes('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL', at);
      this.insert('INSERT INTO signing_keys (kid, private_key, created_at, retired_at) VALUES (?, ?, ?, NULL)', r.kid, r.privateKey, r.createdAt);
    }).immediate();
  }

  async sealSigningKey(kid: string, privateKey: string): Promise<boolean> {
    return this.changes('UPDATE signing_keys SET private_key = ? WHERE kid = ?', privateKey, kid) > 0;
  }

  async deleteSigningKey(kid: string): Promise<boolean> {
    return this.changes('DELETE FROM signing_keys WHERE kid = ?', kid) > 0;
  }

  async createAccount(a: AccountRecord): Promise<void> {
    this.db.transaction(() => {
      this.insert(
        'INSERT INTO accounts (id, username, password_hash, created_at, last_login_at, disabled, roles) VALUES (?, ?, ?, ?, ?, ?, ?)',
        a.id, a.username, a.passwordHash, a.createdAt, a.lastLoginAt, a.disabled ? 1 : 0, JSON.stringify(a.roles),
      );
      for (const pubkey of a.publicKeys) this.insert('INSERT INTO account_keys (pubkey, account_id, linked_at) VALUES (?, ?, ?)', pubkey, a.id, a.createdAt);
    })();
  }

  async getAccount(id: string): Promise<AccountRecord | undefined> {
    const row = this.get(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?`, id);
    return row && toAccount(row);
  }

  async getAccountByUsername(username: string): Promise<AccountRecord | undefined> {
    const row = this.get(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.username = ?`, username);
    return row && toAccount(row);
  }

  async getAccountByKey(pubkey: string): Promise<AccountRecord | undefined> {
    const row = this.get(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = (SELECT account_id FROM account_keys WHERE pubkey = ?)`, pubkey);
    return row && toAccount(row);
  }

  async updateAccount(id: string, patch: AccountPatch): Promise<boolean> {
    // One statement, so concurrent updates of different fields cannot undo each other.
    return this.changes(
      `UPDATE accounts SET password_hash = coalesce(?, password_hash), disabled = coalesce(?, disabled), roles = coalesce(?, roles),
         last_login_at = coalesce(?, last_login_at) WHERE id = ?`,
      patch.passwordHash ?? null,
      patch.disabled === undefined ? null : patch.disabled ? 1 : 0,
      patch.roles === undefined ? null : JSON.stringify(patch.roles),
      patch.lastLoginAt ?? null,
      id,
    ) > 0;
  }

  async recordLogins(stamps: ReadonlyArray<{ id: string; at: number }>): Promise<void> {
    this.db.transaction(() => {
      for (const { id, at } of stamps) this.changes('UPDATE accounts SET last_login_at = max(coalesce(last_login_at, 0), ?) WHERE id = ?', at, id);
    })();
  }

  async deleteAccount(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.changes('DELETE FROM account_keys WHERE account_id = ?', id);
      return this.changes('DELETE FROM accounts WHERE id = ?', id) > 0;
    })();
  }

  async linkKey(id: string, pubkey: string, at: number): Promise<boolean> {
    return this.db.transaction(() => {
      if (!this.get('SELECT 1 FROM accounts WHERE id = ?', id)) return false;
      this.insert('INSERT INTO account_keys (pubkey, account_id, linked_at) VALUES (?, ?, ?)', pubkey, id, at);
      return true;
    }).immediate();
  }

  async unlinkKey(id: string, pubkey: string): Promise<'unlinked' | 'not_linked' | 'last_credential'> {
    return this.db.transaction(() => {
      const keys = (this.sql('SELECT pubkey FROM account_keys WHERE account_id = ?').all(id) as { pubkey: string }[]).map((r) => r.pubkey);
      if (!keys.includes(pubkey)) return 'not_linked';
      const account = this.sql('SELECT password_hash FROM accounts WHERE id = ?').get(id) as { password_hash: string | null } | undefined;
      if (keys.length === 1 && !account?.password_hash) return 'last_credential';
      this.changes('DELETE FROM account_keys WHERE pubkey = ? AND account_id = ?', pubkey, id);
      return 'unlinked';
    }).immediate();
  }

  async listAccounts({ offset, limit, prefix = '' }: AccountQuery): Promise<AccountRecord[]> {
    return this.all(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE ${ACCOUNT_PREFIX} ORDER BY a.id LIMIT @limit OFFSET @offset`, { prefix, limit, offset }).map(toAccount);
  }

  async countAccounts({ prefix = '' }: Pick<AccountQuery, 'prefix'> = {}): Promise<number> {
    return this.get(`SELECT count(*) AS n FROM accounts a WHERE ${ACCOUNT_PREFIX}`, { prefix })!.n as number;
  }

  async createSession(s: SessionRecord, t: RefreshTokenRecord): Promise<void> {
    this.db.transaction(() => {
      this.insert('INSERT INTO sessions (sid, sub, created_at, expires_at, revoked_at, scope) VALUES (?, ?, ?, ?, ?, ?)', s.sid, s.sub, s.createdAt, s.expiresAt, s.revokedAt, s.scope);
      this.addRefreshToken(t);
    })();
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const row = this.get('SELECT * FROM sessions WHERE sid = ?', sid);
    return row && toSession(row);
  }

  async endSession(s: SessionRef, at: number): Promise<void> {
    this.changes(
      `INSERT INTO sessions (sid, sub, created_at, expires_at, revoked_at, scope) VALUES (?, ?, ?, ?, ?, NULL)
       ON CONFLICT (sid) DO UPDATE SET revoked_at = coalesce(revoked_at, excluded.revoked_at)`,
      s.sid, s.sub, at, s.expiresAt, at,
    );
  }

  async revokeSessionsOfSubject(sub: string, at: number): Promise<number> {
    return this.changes('UPDATE sessions SET revoked_at = ? WHERE sub = ? AND revoked_at IS NULL', at, sub);
  }

  private addRefreshToken(t: RefreshTokenRecord): void {
    this.insert(
      'INSERT INTO refresh_tokens (hash, sid, created_at, expires_at, used_at, replaced_by) VALUES (?, ?, ?, ?, ?, ?)',
      t.hash, t.sid, t.createdAt, t.expiresAt, t.usedAt, t.replacedBy,
    );
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const row = this.get('SELECT * FROM refresh_tokens WHERE hash = ?', hash);
    return row && toRefresh(row);
  }

  async rotateRefreshToken(rotation: Rotation): Promise<RotationResult> {
    const { hash, successor, at } = rotation;
    // One transaction: SQLite serialises writers, so exactly one caller spends the token.
    return this.db.transaction((): RotationResult => {
      const row = this.get('SELECT * FROM refresh_tokens WHERE hash = ?', hash);
      if (!row) return { outcome: 'unknown' };
      const token = toRefresh(row);
      const session = this.get('SELECT * FROM sessions WHERE sid = ?', token.sid);
      const current = session && toSession(session);
      if (token.usedAt === null) {
        this.changes('UPDATE refresh_tokens SET used_at = ?, replaced_by = ? WHERE hash = ?', at, successor.hash, hash);
        this.addRefreshToken({ ...successor, sid: token.sid, expiresAt: token.expiresAt });
        return { outcome: 'rotated', token: { ...token, usedAt: at, replacedBy: successor.hash }, session: current };
      }
      const next = this.get('SELECT used_at FROM refresh_tokens WHERE hash = ?', successor.hash);
      if (isRepeat(token, rotation, next?.used_at === null)) {
        return { outcome: 'repeated', token, session: current };
      }
      this.changes('UPDATE sessions SET revoked_at = ? WHERE sid = ? AND revoked_at IS NULL', at, token.sid);
      return { outcome: 'reused', token, session: current && { ...current, revokedAt: current.revokedAt ?? at } };
    }).immediate();
  }

  async revokeToken(jti: string, expiresAt: number): Promise<void> {
    this.changes('INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING', jti, expiresAt);
  }

  async isTokenRevoked(jti: string): Promise<boolean> {
    return this.get('SELECT 1 FROM revoked_tokens WHERE jti = ?', jti) !== undefined;
  }

  async revokeSubject(sub: string, at: number): Promise<void> {
    this.changes(
      'INSERT INTO revoked_subjects (sub, revoked_at) VALUES (?, ?) ON CONFLICT (sub) DO UPDATE SET revoked_at = max(revoked_at, excluded.revoked_at)',
      sub, at,
    );
  }

  async subjectRevokedAt(sub: string): Promise<number | undefined> {
    return this.get('SELECT revoked_at FROM revoked_subjects WHERE sub = ?', sub)?.revoked_at as number | undefined;
  }

  async tokenStanding({ jti, sid, sub, pubkey }: StandingQuery): Promise<TokenStanding> {
    const session = sid === undefined ? undefined : this.get('SELECT * FROM sessions WHERE sid = ?', sid);
    const revokedAt = this.get('SELECT max(revoked_at) AS at FROM revoked_subjects WHERE sub IN (?, ?)', sub, pubkey === undefined ? sub : keySubject(pubkey))!.at as number | null;
    const account = this.get('SELECT disabled FROM accounts WHERE id = ?', sub);
    const standing: TokenStanding = {
      jtiRevoked: this.get('SELECT 1 FROM revoked_tokens WHERE jti = ?', jti) !== undefined,
      session: session && toSession(session),
      subjectRevokedAt: revokedAt ?? undefined,
      account: account && { disabled: account.disabled === 1 },
    };
    if (pubkey !== undefined) standing.keyLinked = this.get('SELECT 1 FROM account_keys WHERE pubkey = ? AND account_id = ?', pubkey, sub) !== undefined;
    return standing;
  }

  async revocationEpoch(): Promise<number> {
    return this.get('SELECT value FROM revocation_epoch WHERE id = 1')!.value as number;
  }

  async bumpRevocationEpoch(): Promise<void> {
    this.changes('UPDATE revocation_epoch SET value = value + 1 WHERE id = 1');
  }

  async appendAudit(events: readonly AuditEvent[]): Promise<void> {
    this.db.transaction(() => {
      for (const e of events) {
        this.changes('INSERT INTO audit_events (at, type, subject, address, door, code, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
          e.at, e.type, e.subject, e.address, e.door, e.code, JSON.stringify(e.detail));
      }
    })();
  }

  async queryAudit({ subject, type, since, afterId, limit }: AuditQuery): Promise<AuditRecord[]> {
    return this.all(
      `SELECT * FROM audit_events WHERE (@subject IS NULL OR subject = @subject) AND (@type IS NULL OR type = @type)
         AND at >= @since AND id > @afterId ORDER BY id LIMIT @limit`,
      { subject: subject ?? null, type: type ?? null, since: since ?? 0, afterId: afterId ?? 0, limit },
    ).map((r) => ({
      id: r.id as number, at: r.at as number, type: r.type as string, subject: r.subject as string | null, address: r.address as string | null,
      door: r.door as string | null, code: r.code as string | null, detail: JSON.parse(r.detail as string) as Record<string, unknown>,
    }));
  }

  async purgeAudit(before: number): Promise<number> {
    return this.changes('DELETE FROM audit_events WHERE at < ?', before);
  }

  async purgeExpired(now: number): Promise<number> {
    return this.db.transaction(() =>
      this.changes('DELETE FROM refresh_tokens WHERE expires_at < ?', now)
      + this.changes('DELETE FROM revoked_tokens WHERE expires_at < ?', now)
      + this.changes('DELETE FROM sessions WHERE expires_at < ?', now),
    )();
  }

  async ping(): Promise<void> {
    this.get('SELECT 1');
  }

  async close(): Promise<void> {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}
