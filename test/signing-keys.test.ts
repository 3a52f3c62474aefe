/** Signing keys at rest (issue 9, item 3): sealed with SIGNING_KEY_SECRET, kept through a change of USER_API_SECRET. */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';
import { newSigningKey } from '../src/core/signing-keys.js';
import { DEV_SIGNING_SECRET_FILE, resolveSigningKeySecret } from '../src/credentials.js';
import { startKeygate } from '../src/keygate.js';
import { createLogger } from '../src/log.js';
import { startTestKeygate, tempDir, TestClock } from './helpers/keygate.js';

const SECRET = 'a-signing-key-secret-of-at-least-32-chars';
const OTHER_API_SECRET = 'bmfrggzdfmztwq2lknnwg23tnmqxgzlumfrggzdfmztwq2lknnwg23tnm';

/** A store as keygate 0.1 left it: schema version 2, one signing key in plaintext. */
async function legacyStore(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'keygate.db'));
  db.exec(`CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, created_at INTEGER NOT NULL, retired_at INTEGER);
    CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, roles TEXT NOT NULL DEFAULT '[]');
    CREATE TABLE sessions (sid TEXT PRIMARY KEY, sub TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER);
    CREATE TABLE refresh_tokens (hash TEXT PRIMARY KEY, sid TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER);
    CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    CREATE TABLE revoked_subjects (sub TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL);
    PRAGMA user_version = 2;`);
  const { pem, kid } = await newSigningKey();
  db.prepare('INSERT INTO signing_keys VALUES (?, ?, ?, NULL)').run(kid, pem, Date.now() - 1000);
  db.close();
  return kid;
}

const kidOf = async (wsUrl: string) => decodeProtectedHeader((await keypairLogin(PrivateKey.fromRandom(), wsUrl)).token!).kid;

describe('signing keys at rest', () => {
  it('seals the keys of an older store in plaintext at the first start, and keeps signing with them', async () => {
    const dir = tempDir();
    const kid = await legacyStore(dir);
    const kg = await startTestKeygate({ SIGNING_KEY_SECRET: SECRET }, dir);
    try {
      expect(await kidOf(kg.wsUrl)).to.equal(kid);
      const [record] = await kg.core.store.listSigningKeys();
      expect(record!.privateKey).to.match(/^v1\./);
      await kg.core.store.close(); // flush the WAL into the file before reading it raw
      const raw = readFileSync(join(dir, 'keygate.db')).toString('latin1');
      expect(raw).not.to.include('PRIVATE KEY');
    } finally {
      await kg.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the keys when USER_API_SECRET changes, and refuses to start with another SIGNING_KEY_SECRET', async () => {
    const dir = tempDir();
    const first = await startTestKeygate({ SIGNING_KEY_SECRET: SECRET }, dir);
    const kid = await kidOf(first.wsUrl);
    await first.stop({ keepData: true });
    const second = await startTestKeygate({ SIGNING_KEY_SECRET: SECRET, USER_API_SECRET: OTHER_API_SECRET }, dir);
    try {
      expect(await kidOf(second.wsUrl)).to.equal(kid);
    } finally {
      await second.stop({ keepData: true });
    }
    const config = loadConfig({ PORT: '0', DATA_DIR: dir, SIGNING_KEY_SECRET: 'another-secret-that-is-32-chars-long!!', LOG_LEVEL: 'silent' });
    const err = await startKeygate(config, createLogger('silent')).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).to.match(/^SIGNING_KEY_SECRET does not open signing key /);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a retired key published for the longest token lifetime plus KEY_RELOAD_MS, while another instance may still sign with it', async () => {
    const clock = new TestClock();
    const kg = await startTestKeygate({ TOKEN_TTL: '60', PROVISION_TTL: '90', KEY_RELOAD_MS: '30000' }, undefined, { now: clock.now });
    try {
      const kids = async () => ((await (await fetch(`${kg.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      const [old] = await kids();
      clock.advance(1_000);
      const fresh = await kg.core.keys.rotate();
      clock.advance(90_000 + 29_000); // an instance that reloads only now may have signed with `old` until a moment ago
      expect(await kids()).to.deep.equal([fresh, old]);
      clock.advance(2_000);
      expect(await kids()).to.deep.equal([fresh]);
    } finally {
      await kg.stop();
    }
  });

  it('requires SIGNING_KEY_SECRET with DATABASE_URL or in production; generates an owner-only one for development on SQLite', () => {
    const dir = tempDir();
    const log = createLogger('silent');
    try {
      for (const env of [{ DATABASE_URL: 'postgres://x@127.0.0.1/db' }, { NODE_ENV: 'production' }]) {
        expect(() => resolveSigningKeySecret(loadConfig({ DATA_DIR: dir, ...env }), log)).to.throw(/^SIGNING_KEY_SECRET: is required with DATABASE_URL or NODE_ENV=production/);
      }
      const made = resolveSigningKeySecret(loadConfig({ DATA_DIR: dir }), log);
      expect(made).to.match(/^[\w-]{43}$/);
      expect(resolveSigningKeySecret(loadConfig({ DATA_DIR: dir }), log)).to.equal(made);
      expect(statSync(join(dir, DEV_SIGNING_SECRET_FILE)).mode & 0o777).to.equal(0o600);
      expect(() => loadConfig({ SIGNING_KEY_SECRET: 'short' })).to.throw('SIGNING_KEY_SECRET: must be at least 32 characters (npm run keygen makes one)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
