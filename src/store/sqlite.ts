/** The embedded default store: one SQLite file in DATA_DIR (better-sqlite3, WAL). */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuthError } from '../errors.js';
import type { SigningKeyRecord, Store } from './types.js';

/** Schema migrations, applied in order; PRAGMA user_version counts those applied. */
const MIGRATIONS: string[] = [
  `CREATE TABLE signing_keys (
     kid TEXT PRIMARY KEY,
     private_pem TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     retired_at INTEGER
   )`,
];

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

interface SigningKeyRow {
  kid: string;
  private_pem: string;
  created_at: number;
  retired_at: number | null;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;

  /** Opens (creating if needed) `keygate.db` in `dir`, or an in-memory database for ':memory:'. */
  constructor(dir: string) {
    if (dir === ':memory:') {
      this.db = new Database(':memory:');
    } else {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.db = new Database(join(dir, 'keygate.db'));
      this.db.pragma('journal_mode = WAL');
    }
    // FULL: a committed write survives power loss, not just a crash of the process.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  private migrate(): void {
    const applied = this.db.pragma('user_version', { simple: true }) as number;
    const pending = MIGRATIONS.slice(applied);
    if (pending.length === 0) return;
    this.db.transaction(() => {
      for (const sql of pending) this.db.exec(sql);
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    })();
  }

  private write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AuthError('duplicate_entity', undefined, { cause: err });
      throw err;
    }
  }

  async addSigningKey(r: SigningKeyRecord): Promise<void> {
    this.write(() =>
      this.db
        .prepare('INSERT INTO signing_keys (kid, private_pem, created_at, retired_at) VALUES (?, ?, ?, ?)')
        .run(r.kid, r.privatePem, r.createdAt, r.retiredAt),
    );
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = this.db.prepare('SELECT * FROM signing_keys ORDER BY created_at, kid').all() as SigningKeyRow[];
    return rows.map((r) => ({ kid: r.kid, privatePem: r.private_pem, createdAt: r.created_at, retiredAt: r.retired_at }));
  }

  async retireSigningKey(kid: string, at: number): Promise<boolean> {
    return this.db.prepare('UPDATE signing_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL').run(at, kid).changes > 0
      || this.db.prepare('SELECT 1 FROM signing_keys WHERE kid = ?').get(kid) !== undefined;
  }

  async deleteSigningKey(kid: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM signing_keys WHERE kid = ?').run(kid).changes > 0;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
