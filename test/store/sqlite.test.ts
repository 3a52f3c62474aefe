import { expect } from 'chai';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS, SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/keygate.js';
import { storeContract } from './records-contract.js';

const dirs: string[] = [];
storeContract('sqlite (file)', () => {
  const dir = tempDir('keygate-store-');
  dirs.push(dir);
  return new SqliteStore(dir);
});
storeContract('sqlite (memory)', () => new SqliteStore(':memory:'));

describe('SqliteStore', () => {
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('keeps data across reopening the file', async () => {
    const dir = tempDir('keygate-store-');
    dirs.push(dir);
    const first = new SqliteStore(join(dir, 'nested'));
    await first.addSigningKey({ kid: 'a', privateKey: 'v1.sealed', createdAt: 1, retiredAt: null });
    await first.close();
    const second = new SqliteStore(join(dir, 'nested'));
    expect((await second.listSigningKeys()).map((k) => k.kid)).to.deep.equal(['a']);
    await second.close();
    expect(statSync(join(dir, 'nested')).mode & 0o777).to.equal(0o700);
  });

  it('turns the password users of a store from before accounts into accounts, keeping their ids', async () => {
    const dir = tempDir('keygate-store-');
    dirs.push(dir);
    const old = new Database(join(dir, 'keygate.db'));
    for (const sql of SQLITE_MIGRATIONS.slice(0, 5)) old.exec(sql);
    old.pragma('user_version = 5');
    old.prepare('INSERT INTO users (id, username, password_hash, created_at, disabled, roles) VALUES (?, ?, ?, ?, ?, ?)')
      .run('u-1', 'alice', '$argon2id$x', 1234, 1, '["admin"]');
    old.close();
    const store = new SqliteStore(dir);
    expect(await store.getAccountByUsername('alice')).to.deep.equal({
      id: 'u-1', username: 'alice', passwordHash: '$argon2id$x', publicKeys: [], roles: ['admin'], disabled: true, createdAt: 1234, lastLoginAt: null,
    });
    await store.close();
  });
});
