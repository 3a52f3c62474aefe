/** Opens the store the configuration names. */
import type { Config } from '../config.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export type { Store } from './types.js';

export function openStore(config: Pick<Config, 'dataDir'>): Store {
  return new SqliteStore(config.dataDir);
}
