/**
 * The API key and secret: from the environment, or (outside production) a dev pair
 * generated once and kept in DATA_DIR.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeApiSecret, generateApiCredentials } from './core/api-sig.js';
import { ConfigError, type Config } from './config.js';
import type { Logger } from './log.js';

export interface ApiCredentials {
  key: string;
  /** The decoded secret bytes; the string form is not kept. */
  secret: Uint8Array;
  /** Whether this is a generated development pair. */
  dev: boolean;
}

export const DEV_CREDENTIALS_FILE = 'dev-api-credentials.json';

function decode(secret: string): Uint8Array {
  try {
    return decodeApiSecret(secret);
  } catch (err) {
    throw new ConfigError('USER_API_SECRET', (err as Error).message);
  }
}

function loadDevPair(dataDir: string): { key: string; secret: string } {
  const file = join(dataDir, DEV_CREDENTIALS_FILE);
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { key?: unknown; secret?: unknown };
    if (typeof parsed.key === 'string' && typeof parsed.secret === 'string') return { key: parsed.key, secret: parsed.secret };
    throw new ConfigError('DATA_DIR', `${file} is not a key/secret pair; delete it to make a new one`);
  }
  const pair = generateApiCredentials();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(pair, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return pair;
}

export function resolveApiCredentials(config: Config, log: Logger): ApiCredentials {
  const { userApiKey, userApiSecret } = config;
  if (userApiKey !== undefined && userApiSecret !== undefined) {
    return { key: userApiKey, secret: decode(userApiSecret), dev: false };
  }
  if (userApiKey !== undefined || userApiSecret !== undefined) {
    throw new ConfigError(userApiKey === undefined ? 'USER_API_KEY' : 'USER_API_SECRET', 'set both USER_API_KEY and USER_API_SECRET, or neither');
  }
  if (config.nodeEnv === 'production') {
    throw new ConfigError('USER_API_KEY', 'USER_API_KEY and USER_API_SECRET are required when NODE_ENV=production (npm run keygen makes a pair)');
  }
  const pair = loadDevPair(config.dataDir);
  log.warn(
    { file: join(config.dataDir, DEV_CREDENTIALS_FILE) },
    '!!! DEVELOPMENT API KEY IN USE: USER_API_KEY/USER_API_SECRET are not set, so a generated pair kept in DATA_DIR signs every UserAuth. Set them (npm run keygen) before going to production. !!!',
  );
  return { key: pair.key, secret: decode(pair.secret), dev: true };
}
