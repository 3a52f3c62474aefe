/**
 * The secrets keygate runs with: the API key and secret, and the secret that encrypts the
 * signing keys at rest. From the environment; outside production (and, for the signing-key
 * secret, only on SQLite) a development value is generated once and kept in DATA_DIR.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
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
export const DEV_SIGNING_SECRET_FILE = 'dev-signing-key-secret.json';

function decode(secret: string): Uint8Array {
  try {
    return decodeApiSecret(secret);
  } catch (err) {
    throw new ConfigError('USER_API_SECRET', (err as Error).message);
  }
}

/** Reads a development secret file of DATA_DIR, or makes it (owner-only) with `make`. */
function devSecret<T extends object>(dataDir: string, name: string, make: () => T, valid: (parsed: Record<string, unknown>) => boolean): T {
  const file = join(dataDir, name);
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (valid(parsed)) return parsed as T;
    throw new ConfigError('DATA_DIR', `${file} is not what keygate wrote there; delete it to make a new one`);
  }
  const value = make();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return value;
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
  const pair = devSecret(config.dataDir, DEV_CREDENTIALS_FILE, generateApiCredentials, (p) => typeof p.key === 'string' && typeof p.secret === 'string');
  log.warn(
    { file: join(config.dataDir, DEV_CREDENTIALS_FILE) },
    '!!! DEVELOPMENT API KEY IN USE: USER_API_KEY/USER_API_SECRET are not set, so a generated pair kept in DATA_DIR signs every UserAuth. Set them (npm run keygen) before going to production. !!!',
  );
  return { key: pair.key, secret: decode(pair.secret), dev: true };
}

/** A fresh SIGNING_KEY_SECRET: 32 random bytes, base64url. */
export function generateSigningKeySecret(): string {
  return randomBytes(32).toString('base64url');
}

/** SIGNING_KEY_SECRET, required with DATABASE_URL or in production; otherwise a development one kept in DATA_DIR. */
export function resolveSigningKeySecret(config: Config, log: Logger): string {
  if (config.signingKeySecret !== undefined) return config.signingKeySecret;
  if (config.databaseUrl !== undefined || config.nodeEnv === 'production') {
    throw new ConfigError('SIGNING_KEY_SECRET', 'is required with DATABASE_URL or NODE_ENV=production: it encrypts the signing keys at rest (npm run keygen makes one)');
  }
  const { secret } = devSecret(config.dataDir, DEV_SIGNING_SECRET_FILE, () => ({ secret: generateSigningKeySecret() }), (p) => typeof p.secret === 'string');
  log.warn(
    { file: join(config.dataDir, DEV_SIGNING_SECRET_FILE) },
    '!!! DEVELOPMENT SIGNING_KEY_SECRET IN USE: a generated secret kept in DATA_DIR encrypts the signing keys. Set SIGNING_KEY_SECRET (npm run keygen) before going to production. !!!',
  );
  return secret;
}
