import { expect } from 'chai';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres.js';
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
      expect(rows.map((r: { version: number }) => r.version)).to.deep.equal([1, 2]);
    } finally {
      await client.end();
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
