/**
 * Durable records on PostgreSQL (DATABASE_URL=postgres://...), with the `pg` pool. Every
 * multi-row change is one transaction; single-use consumption is one conditional UPDATE
 * (or a row lock), so exactly one of any number of racing callers, on any instance, wins.
 */
import pg from 'pg';
import { StoreError } from '../errors.js';
import { isRepeat, keySubject, type RefreshTokenRecord, type Rotation, type RotationResult, type SessionRecord, type SessionRef, type SigningKeyRecord, type RecordStore, type TokenStanding, type AccountRecord, type AccountPatch, type AccountQuery, type StandingQuery, type AuditEvent, type AuditQuery, type AuditRecord } from './records.js';
import { POSTGRES_MIGRATIONS } from './postgres-schema.js';

type Row = Record<string, unknown>;
type Queryable = Pick<pg.PoolClient, 'query'>;

/** Limits of the pool: fail fast when PostgreSQL does not answer. */
export interface PostgresOptions {
  /** Connections per instance. */
  poolSize: number;
  /** Longest wait for a connection, and for any one statement, in ms. */
  timeoutMs: number;
}

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null ? null : Number(v));

const toKey = (r: Row): SigningKeyRecord => ({ kid: r.kid as string, privateKey: r.private_key as string, createdAt: num(r.created_at), retiredAt: numOrNull(r.retired_at) });
const toAccount = (r: Row): AccountRecord => ({
  id: r.id as string,
  username: r.username as string | null,
  passwordHash: r.password_hash as string | null,
  publicKeys: r.public_keys as string[],
  roles: r.roles as string[],
  disabled: r.disabled as boolean,
  createdAt: num(r.created_at),
  lastLoginAt: numOrNull(r.last_login_at),
});

/** An account row with its keys, oldest link first. */
const ACCOUNT_COLUMNS = `a.*, coalesce((SELECT json_agg(pubkey ORDER BY linked_at, pubkey) FROM account_keys k WHERE k.account_id = a.id), '[]') AS public_keys`;
/** Matches accounts whose id, username or a linked key starts with $1 (an empty string matches all). */
const ACCOUNT_PREFIX = `(starts_with(a.id, $1) OR starts_with(a.username, $1)
  OR EXISTS (SELECT 1 FROM account_keys k WHERE k.account_id = a.id AND starts_with(k.pubkey, $1)))`;
const toSession = (r: Row): SessionRecord => ({
  sid: r.sid as string, sub: r.sub as string, createdAt: num(r.created_at), expiresAt: num(r.expires_at), revokedAt: numOrNull(r.revoked_at), scope: r.scope as string | null,
});
const toRefresh = (r: Row): RefreshTokenRecord => ({
  hash: r.hash as string, sid: r.sid as string, createdAt: num(r.created_at), expiresAt: num(r.expires_at), usedAt: numOrNull(r.used_at), replacedBy: r.replaced_by as string | null,
});

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH']);
/** SQLSTATEs of a server that is going away, restarting, full or too slow (statement_timeout). */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
const UNAVAILABLE_MESSAGES = /^(?:Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error)/;

/** A pg error in the store's own terms: a conflict, an unavailable backend, or (a bug) as it is. */
function translate(err: unknown): unknown {
  const code = String((err as { code?: unknown }).code ?? '');
  if (code === '23505') return new StoreError('conflict', 'The record exists already.', { cause: err });
  // Class 22, data exception: a value PostgreSQL cannot take as given (a NUL in text, ...).
  if (code.startsWith('22') && code !== '22P02') return new StoreError('invalid_input', 'A value cannot be stored as given.', { cause: err });
  const message = err instanceof Error ? err.message : '';
  if (NETWORK_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_STATES.has(code) || UNAVAILABLE_MESSAGES.test(message)) {
    return new StoreError('unavailable', `PostgreSQL is unavailable: ${message || code}`, { cause: err });
  }
  return err;
}

/** The advisory lock key audit appends take turns under (any constant of keygate's own). */
const AUDIT_APPEND_LOCK = 0x6b6761756469;

export class PostgresStore implements RecordStore {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Connects and brings the schema up to date (safe when several instances start at once). */
  static async open(url: string, options: PostgresOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
      statement_timeout: options.timeoutMs,
      idleTimeoutMillis: 30_000,
    });
    pool.on('error', () => undefined); // an idle client's connection dropped: the next query reconnects
    const store = new PostgresStore(pool);
    try {
      await store.migrate();
    } catch (err) {
      await pool.end();
      throw err;
    }
    return store;
  }

  /** Applies pending migrations under an advisory lock: concurrent starters wait, then find nothing to do. */
  async migrate(): Promise<number> {
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(7406203318)');
      await client.query('CREATE TABLE IF NOT EXISTS keygate_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const { rows } = await client.query('SELECT coalesce(max(version), 0) AS v FROM keygate_migrations');
      const applied = Number(rows[0]!.v);
      for (const [i, sql] of POSTGRES_MIGRATIONS.entries()) {
        if (i + 1 <= applied) continue;
        await client.query(sql);
        await client.query('INSERT INTO keygate_migrations (version, applied_at) VALUES ($1, $2)', [i + 1, Date.now()]);
      }
      return POSTGRES_MIGRATIONS.length - applied;
    });
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw translate(err);
    });
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      const error = translate(err);
      if (error instanceof StoreError && error.code === 'unavailable') broken = error;
      else await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      throw error;
    } finally {
      // A client whose connection failed is dropped from the pool, not reused.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  private async query(text: string, params: unknown[], db: Queryable): Promise<pg.QueryResult> {
    try {
      return await db.query(text, params);
    } catch (err) {
      throw translate(err);
    }
  }

  private async rows(text: string, params: unknown[] = [], db: Queryable = this.pool): Promise<Row[]> {
    return (await this.query(text, params, db)).rows as Row[];
  }

  private async count(text: string, params: unknown[] = [], db: Queryable = this.pool): Promise<number> {
    return (await this.query(text, params, db)).rowCount ?? 0;
  }

  private async insert(text: string, params: unknown[], db: Queryable = this.pool): Promise<void> {
    await this.query(text, params, db);
  }

  async addSigningKey(r: SigningKeyRecord): Promise<void> {
    await this.insert('INSERT INTO signing_keys (kid, private_key, created_at, retired_at) VALUES ($1, $2, $3, $4)', [r.kid, r.privateKey, r.createdAt, r.retiredAt]);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (await this.rows('SELECT * FROM signing_keys ORDER BY created_at, kid')).map(toKey);
  }

  async rotateSigningKey(r: SigningKeyRecord, at: number): Promise<void> {
    await this.transaction(async (client) => {
      await this.count('UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL', [at], client);
      await this.insert('INSERT INTO signing_keys (kid, private_key, created_at, retired_at) VALUES ($1, $2, $3, NULL)', [r.kid, r.privateKey, r.createdAt], client);
    });
  }

  async sealSigningKey(kid: string, privateKey: string): Promise<boolean> {
    return (await this.count('UPDATE signing_keys SET private_key = $1 WHERE kid = $2', [privateKey, kid])) > 0;
  }

  async deleteSigningKey(kid: string): Promise<boolean> {
    return (await this.count('DELETE FROM signing_keys WHERE kid = $1', [kid])) > 0;
  }

  async createAccount(a: AccountRecord): Promise<void> {
    await this.transaction(async (client) => {
      await this.insert(
        'INSERT INTO accounts (id, username, password_hash, created_at, last_login_at, disabled, roles) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [a.id, a.username, a.passwordHash, a.createdAt, a.lastLoginAt, a.disabled, JSON.stringify(a.roles)], client,
      );
      for (const pubkey of a.publicKeys) await this.insert('INSERT INTO account_keys (pubkey, account_id, linked_at) VALUES ($1, $2, $3)', [pubkey, a.id, a.createdAt], client);
    });
  }

  private async oneAccount(where: string, value: string): Promise<AccountRecord | undefined> {
    const [row] = await this.rows(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE ${where}`, [value]);
    return row && toAccount(row);
  }

  getAccount(id: string): Promise<AccountRecord | undefined> {
    return this.oneAccount('a.id = $1', id);
  }

  getAccountByUsername(username: string): Promise<AccountRecord | undefined> {
    return this.oneAccount('a.username = $1', username);
  }

  getAccountByKey(pubkey: string): Promise<AccountRecord | undefined> {
    return this.oneAccount('a.id = (SELECT account_id FROM account_keys WHERE pubkey = $1)', pubkey);
  }

  async updateAccount(id: string, patch: AccountPatch): Promise<boolean> {
    return (await this.count(
      `UPDATE accounts SET password_hash = coalesce($1, password_hash), disabled = coalesce($2, disabled), roles = coalesce($3::jsonb, roles),
         last_login_at = coalesce($4, last_login_at) WHERE id = $5`,
      [patch.passwordHash ?? null, patch.disabled ?? null, patch.roles === undefined ? null : JSON.stringify(patch.roles), patch.lastLoginAt ?? null, id],
    )) > 0;
  }

  async recordLogins(stamps: ReadonlyArray<{ id: string; at: number }>): Promise<void> {
    if (stamps.length === 0) return;
    // One statement for the whole batch. Rows are locked in the order given: callers give ids
    // in sorted order, so that two instances writing overlapping batches cannot deadlock.
    await this.count(
      `UPDATE accounts a SET last_login_at = GREATEST(coalesce(a.last_login_at, 0), s.at)
         FROM unnest($1::text[], $2::bigint[]) AS s(id, at) WHERE a.id = s.id`,
      [stamps.map((s) => s.id), stamps.map((s) => s.at)],
    );
  }

  async deleteAccount(id: string): Promise<boolean> {
    // Its key links go with it (ON DELETE CASCADE), in the same statement.
    return (await this.count('DELETE FROM accounts WHERE id = $1', [id])) > 0;
  }

  async linkKey(id: string, pubkey: string, at: number): Promise<boolean> {
    // One statement: no row when the account does not exist; a unique violation when the key is linked.
    return (await this.count(
      'INSERT INTO account_keys (pubkey, account_id, linked_at) SELECT $1, id, $3 FROM accounts WHERE id = $2',
      [pubkey, id, at],
    )) > 0;
  }

  async unlinkKey(id: string, pubkey: string): Promise<'unlinked' | 'not_linked' | 'last_credential'> {
    return this.transaction(async (client) => {
      // The account's row lock makes concurrent unlinks of its keys wait for each other, so the
      // last one sees what the others left.
      const [account] = await this.rows('SELECT password_hash FROM accounts WHERE id = $1 FOR UPDATE', [id], client);
      if (!account) return 'not_linked';
      const keys = (await this.rows('SELECT pubkey FROM account_keys WHERE account_id = $1', [id], client)).map((r) => r.pubkey as string);
      if (!keys.includes(pubkey)) return 'not_linked';
      if (keys.length === 1 && account.password_hash === null) return 'last_credential';
      await this.count('DELETE FROM account_keys WHERE pubkey = $1 AND account_id = $2', [pubkey, id], client);
      return 'unlinked';
    });
  }

  async listAccounts({ offset, limit, prefix = '' }: AccountQuery): Promise<AccountRecord[]> {
    return (await this.rows(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE ${ACCOUNT_PREFIX} ORDER BY a.id LIMIT $2 OFFSET $3`, [prefix, limit, offset])).map(toAccount);
  }

  async countAccounts({ prefix = '' }: Pick<AccountQuery, 'prefix'> = {}): Promise<number> {
    return Number((await this.rows(`SELECT count(*) AS n FROM accounts a WHERE ${ACCOUNT_PREFIX}`, [prefix]))[0]!.n);
  }

  async createSession(s: SessionRecord, t: RefreshTokenRecord): Promise<void> {
    await this.transaction(async (client) => {
      await this.insert('INSERT INTO sessions (sid, sub, created_at, expires_at, revoked_at, scope) VALUES ($1, $2, $3, $4, $5, $6)', [s.sid, s.sub, s.createdAt, s.expiresAt, s.revokedAt, s.scope], client);
      await this.addRefreshToken(t, client);
    });
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM sessions WHERE sid = $1', [sid]);
    return row && toSession(row);
  }

  async endSession(s: SessionRef, at: number): Promise<void> {
    await this.count(
      `INSERT INTO sessions (sid, sub, created_at, expires_at, revoked_at, scope) VALUES ($1, $2, $3, $4, $3, NULL)
       ON CONFLICT (sid) DO UPDATE SET revoked_at = coalesce(sessions.revoked_at, excluded.revoked_at)`,
      [s.sid, s.sub, at, s.expiresAt],
    );
  }

  async revokeSessionsOfSubject(sub: string, at: number): Promise<number> {
    return this.count('UPDATE sessions SET revoked_at = $1 WHERE sub = $2 AND revoked_at IS NULL', [at, sub]);
  }

  private async addRefreshToken(t: RefreshTokenRecord, db: Queryable): Promise<void> {
    await this.insert(
      'INSERT INTO refresh_tokens (hash, sid, created_at, expires_at, used_at, replaced_by) VALUES ($1, $2, $3, $4, $5, $6)',
      [t.hash, t.sid, t.createdAt, t.expiresAt, t.usedAt, t.replacedBy], db,
    );
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM refresh_tokens WHERE hash = $1', [hash]);
    return row && toRefresh(row);
  }

  async rotateRefreshToken(rotation: Rotation): Promise<RotationResult> {
    const { hash, successor, at } = rotation;
    return this.transaction(async (client): Promise<RotationResult> => {
      // The row lock makes racing rotations of one token wait for each other: one spends it.
      const [row] = await this.rows('SELECT * FROM refresh_tokens WHERE hash = $1 FOR UPDATE', [hash], client);
      if (!row) return { outcome: 'unknown' };
      const token = toRefresh(row);
      const [sessionRow] = await this.rows('SELECT * FROM sessions WHERE sid = $1', [token.sid], client);
      const session = sessionRow && toSession(sessionRow);
      if (token.usedAt === null) {
        await this.count('UPDATE refresh_tokens SET used_at = $1, replaced_by = $2 WHERE hash = $3', [at, successor.hash, hash], client);
        await this.addRefreshToken({ ...successor, sid: token.sid, expiresAt: token.expiresAt }, client);
        return { outcome: 'rotated', token: { ...token, usedAt: at, replacedBy: successor.hash }, session };
      }
      const [next] = await this.rows('SELECT used_at FROM refresh_tokens WHERE hash = $1', [successor.hash], client);
      if (isRepeat(token, rotation, next?.used_at === null)) {
        return { outcome: 'repeated', token, session };
      }
      await this.count('UPDATE sessions SET revoked_at = $1 WHERE sid = $2 AND revoked_at IS NULL', [at, token.sid], client);
      return { outcome: 'reused', token, session: session && { ...session, revokedAt: session.revokedAt ?? at } };
    });
  }

  async revokeToken(jti: string, expiresAt: number): Promise<void> {
    await this.count('INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING', [jti, expiresAt]);
  }

  async isTokenRevoked(jti: string): Promise<boolean> {
    return (await this.rows('SELECT 1 FROM revoked_tokens WHERE jti = $1', [jti])).length > 0;
  }

  async revokeSubject(sub: string, at: number): Promise<void> {
    await this.count(
      `INSERT INTO revoked_subjects (sub, revoked_at) VALUES ($1, $2)
       ON CONFLICT (sub) DO UPDATE SET revoked_at = greatest(revoked_subjects.revoked_at, excluded.revoked_at)`,
      [sub, at],
    );
  }

  async subjectRevokedAt(sub: string): Promise<number | undefined> {
    const [row] = await this.rows('SELECT revoked_at FROM revoked_subjects WHERE sub = $1', [sub]);
    return row && num(row.revoked_at);
  }

  async tokenStanding({ jti, sid, sub, pubkey }: StandingQuery): Promise<TokenStanding> {
    // One statement, one round trip: this runs for every token an instance has not checked lately.
    const [row] = await this.rows(
      `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1) AS jti_revoked,
              (SELECT row_to_json(s) FROM sessions s WHERE sid = $2) AS session,
              (SELECT max(revoked_at) FROM revoked_subjects WHERE sub IN ($3, $4)) AS subject_revoked_at,
              (SELECT json_build_object('disabled', disabled) FROM accounts WHERE id = $3) AS account,
              EXISTS (SELECT 1 FROM account_keys WHERE pubkey = $5 AND account_id = $3) AS key_linked`,
      [jti, sid ?? null, sub, pubkey === undefined ? sub : keySubject(pubkey), pubkey ?? null],
    );
    const standing: TokenStanding = {
      jtiRevoked: row!.jti_revoked as boolean,
      session: row!.session ? toSession(row!.session as Row) : undefined,
      subjectRevokedAt: row!.subject_revoked_at === null ? undefined : num(row!.subject_revoked_at),
      account: (row!.account as { disabled: boolean } | null) ?? undefined,
    };
    if (pubkey !== undefined) standing.keyLinked = row!.key_linked as boolean;
    return standing;
  }

  async revocationEpoch(): Promise<number> {
    const [row] = await this.rows('SELECT last_value, is_called FROM revocation_epoch');
    return row!.is_called ? num(row!.last_value) : 0;
  }

  async bumpRevocationEpoch(): Promise<void> {
    await this.rows("SELECT nextval('revocation_epoch')");
  }

  async appendAudit(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    // One statement: the rows take ids in the order given. Appends take turns (a lock held to
    // their commit), so ids become visible in the order they were taken: a reader paging with
    // afterId never passes an id whose batch has not committed yet (several instances append).
    const columns = 7;
    const values = events.map((_, i) => `(${Array.from({ length: columns }, (__, j) => `$${i * columns + j + 1}`).join(', ')})`).join(', ');
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_APPEND_LOCK]);
      await this.count(
        `INSERT INTO audit_events (at, type, subject, address, door, code, detail) VALUES ${values}`,
        events.flatMap((e) => [e.at, e.type, e.subject, e.address, e.door, e.code, JSON.stringify(e.detail)]),
        client,
      );
    });
  }

  async queryAudit({ subject, type, since, afterId, limit }: AuditQuery): Promise<AuditRecord[]> {
    const rows = await this.rows(
      `SELECT * FROM audit_events WHERE ($1::text IS NULL OR subject = $1) AND ($2::text IS NULL OR type = $2)
         AND at >= $3 AND id > $4 ORDER BY id LIMIT $5`,
      [subject ?? null, type ?? null, since ?? 0, afterId ?? 0, limit],
    );
    return rows.map((r) => ({
      id: num(r.id), at: num(r.at), type: r.type as string, subject: r.subject as string | null, address: r.address as string | null,
      door: r.door as string | null, code: r.code as string | null, detail: r.detail as Record<string, unknown>,
    }));
  }

  async purgeAudit(before: number): Promise<number> {
    return this.count('DELETE FROM audit_events WHERE at < $1', [before]);
  }

  async purgeExpired(now: number): Promise<number> {
    return this.transaction(async (client) =>
      (await this.count('DELETE FROM refresh_tokens WHERE expires_at < $1', [now], client))
      + (await this.count('DELETE FROM revoked_tokens WHERE expires_at < $1', [now], client))
      + (await this.count('DELETE FROM sessions WHERE expires_at < $1', [now], client)));
  }

  async ping(): Promise<void> {
    await this.rows('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
