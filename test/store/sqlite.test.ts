import { expect } from 'chai';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
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
});
