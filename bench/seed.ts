/**
 * Seeds a keygate data directory with N password users straight into SQLite (HTTP
 * registration would take an hour at ~50 hashes/s). Every row reuses one real argon2id
 * PHC hash made with the server's parameters, so every login does the full verification.
 */
import argon2 from 'argon2';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { OWASP_ARGON2 } from '../src/core/passwords.js';
import type { RecordStore } from '../src/store/records.js';
import { SqliteStore } from '../src/store/sqlite.js';

export const BENCH_PASSWORD = 'correct horse battery staple';
export const USER_PREFIX = 'benchuser';

export function makeHash(): Promise<string> {
  return argon2.hash(BENCH_PASSWORD, { type: argon2.argon2id, ...OWASP_ARGON2 });
}

/** Creates the schema (through the real store's migrations) and inserts `count` users. */
export async function seedUsers(dataDir: string, count: number, hash: string): Promise<number> {
  await new SqliteStore(dataDir).close();
  const db = new Database(join(dataDir, 'keygate.db'));
  try {
    const insert = db.prepare('INSERT INTO accounts (id, username, password_hash, created_at, disabled, roles) VALUES (?, ?, ?, ?, 0, ?)');
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < count; i++) insert.run(randomUUID(), `${USER_PREFIX}${i}`, hash, now, '[]');
    })();
    return (db.prepare('SELECT count(*) AS n FROM accounts').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Inserts `count` users through the record store's contract (any backend), 50 at a time. */
export async function seedUsersInStore(store: RecordStore, count: number, hash: string): Promise<void> {
  const now = Date.now();
  for (let from = 0; from < count; from += 50) {
    const batch = Array.from({ length: Math.min(50, count - from) }, (_, i) => from + i);
    await Promise.all(batch.map((i) => store.createAccount({ id: randomUUID(), username: `${USER_PREFIX}${i}`, passwordHash: hash, publicKeys: [], roles: [], disabled: false, createdAt: now, lastLoginAt: null })));
  }
}
