import { expect } from 'chai';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres-schema.js';
import { freshDatabase, postgres, requireEngine } from '../helpers/engines.js';
import { storeContract } from './records-contract.js';

const OPTIONS = { poolSize: 10, timeoutMs: 2000 };

describe('PostgreSQL store', function () {
  this.timeout(60_000);
  before(async function () {
    await requireEngine(this, postgres);
  });

  storeContract('postgres', async () => PostgresStore.open(await freshDatabase(), OPTIONS));

  it('lets several instances migrate an empty database at once: one schema, applied once', async () => {
    const url = await freshDatabase();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url, OPTIONS)));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT version FROM keygate_migrations ORDER BY version');
      expect(rows.map((r: { version: number }) => r.version)).to.deep.equal(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await client.end();
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('turns the password users of a database from before accounts into accounts, keeping their ids', async () => {
    const url = await freshDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('CREATE TABLE keygate_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      for (const [i, sql] of POSTGRES_MIGRATIONS.slice(0, 2).entries()) {
        await client.query(sql);
        await client.query('INSERT INTO keygate_migrations (version, applied_at) VALUES ($1, 0)', [i + 1]);
      }
      await client.query(`INSERT INTO users (id, username, password_hash, created_at, disabled, roles) VALUES ('u-1', 'alice', '$argon2id$x', 1234, true, '["admin"]')`);
    } finally {
      await client.end();
    }
    const store = await PostgresStore.open(url, OPTIONS);
    try {
      expect(await store.getAccountByUsername('alice')).to.deep.equal({
        id: 'u-1', username: 'alice', passwordHash: '$argon2id$x', publicKeys: [], roles: ['admin'], disabled: true, createdAt: 1234, lastLoginAt: null,
      });
      await store.linkKey('u-1', 'bkey', 5);
      expect(await store.deleteAccount('u-1')).to.equal(true);
      expect(await store.getAccountByKey('bkey')).to.equal(undefined);
    } finally {
      await store.close();
    }
  });
});
