/**
 * Seeds N password users through the record store's contract (src/store/records.ts), so the
 * same code seeds every backend the bench runs: SQLite in a data directory (SqliteStore) and
 * PostgreSQL (PostgresStore). HTTP registration would take an hour at ~50 hashes/s, so every
 * account reuses one real argon2id PHC hash made with the server's parameters: every login
 * still does the full verification.
 */
import argon2 from 'argon2';
import { randomUUID } from 'node:crypto';
import { OWASP_ARGON2 } from '../src/core/passwords.js';
import type { RecordStore } from '../src/store/records.js';
import { SqliteStore } from '../src/store/sqlite.js';

export const BENCH_PASSWORD = 'correct horse battery staple';
export const USER_PREFIX = 'benchuser';
/** createAccount calls in flight at once (PostgreSQL spreads them over its pool; SQLite commits them one by one). */
const CHUNK = 50;

export function makeHash(): Promise<string> {
  return argon2.hash(BENCH_PASSWORD, { type: argon2.argon2id, ...OWASP_ARGON2 });
}

/** Creates `count` users (`benchuser0`, `benchuser1`, ...) with `createAccount`; answers how many the store then counts. */
export async function seedUsersInStore(store: RecordStore, count: number, hash: string): Promise<number> {
  const now = Date.now();
  for (let from = 0; from < count; from += CHUNK) {
    const chunk = Array.from({ length: Math.min(CHUNK, count - from) }, (_, i) => from + i);
    await Promise.all(chunk.map((i) => store.createAccount({ id: randomUUID(), username: `${USER_PREFIX}${i}`, passwordHash: hash, publicKeys: [], roles: [], disabled: false, createdAt: now, lastLoginAt: null })));
  }
  const seeded = await store.countAccounts({ prefix: USER_PREFIX });
  if (seeded !== count) throw new Error(`seeded ${count} users but the store counts ${seeded}`);
  return seeded;
}

/** The embedded backend: opens (and migrates) the SQLite store of `dataDir`, seeds it, closes it. */
export async function seedDataDir(dataDir: string, count: number, hash: string): Promise<number> {
  const store = new SqliteStore(dataDir);
  try {
    return await seedUsersInStore(store, count, hash);
  } finally {
    await store.close();
  }
}
