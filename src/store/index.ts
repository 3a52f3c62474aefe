/**
 * Opens the stores the configuration names: durable records on SQLite in DATA_DIR (or
 * PostgreSQL with DATABASE_URL), short-lived state in memory (or Redis with REDIS_URL).
 * Each backend brings its schema up to date as it opens.
 */
import type { Config } from '../config.js';
import { MemoryStateStore } from './memory-state.js';
import { PostgresStore } from './postgres.js';
import type { RecordStore } from './records.js';
import { RedisStateStore } from './redis-state.js';
import { SqliteStore } from './sqlite.js';
import type { StateStore } from './state.js';

export type { RecordStore } from './records.js';
export type { StateStore } from './state.js';

export interface Stores {
  records: RecordStore;
  state: StateStore;
}

type StoreConfig = Pick<Config, 'dataDir' | 'databaseUrl' | 'databasePoolSize' | 'redisUrl' | 'redisPrefix' | 'storeTimeoutMs'>;

export function openRecords(config: StoreConfig): Promise<RecordStore> {
  if (config.databaseUrl === undefined) return Promise.resolve(new SqliteStore(config.dataDir));
  return PostgresStore.open(config.databaseUrl, { poolSize: config.databasePoolSize, timeoutMs: config.storeTimeoutMs });
}

export async function openState(config: StoreConfig, now?: () => number): Promise<StateStore> {
  if (config.redisUrl === undefined) return new MemoryStateStore(now);
  return RedisStateStore.open(config.redisUrl, { prefix: config.redisPrefix, timeoutMs: config.storeTimeoutMs });
}

/** Both stores; if the second cannot open, the first is closed again. */
export async function openStores(config: StoreConfig, now?: () => number): Promise<Stores> {
  const records = await openRecords(config);
  try {
    return { records, state: await openState(config, now) };
  } catch (err) {
    await records.close();
    throw err;
  }
}
