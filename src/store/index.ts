/** Opens the store the configuration names. */
import type { Config } from '../config.js';
import { SqliteStore } from './sqlite.js';
import type { RecordStore } from './records.js';

export type { RecordStore } from './records.js';

export function openStore(config: Pick<Config, 'dataDir'>): RecordStore {
  return new SqliteStore(config.dataDir);
}
