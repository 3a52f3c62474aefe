/**
 * The store contract suite. Every backend runs it unchanged:
 *   storeContract('sqlite', () => new SqliteStore(dir));
 */
import { expect } from 'chai';
import { AuthError } from '../../src/errors.js';
import type { SigningKeyRecord, Store } from '../../src/store/types.js';

export type StoreFactory = () => Promise<Store> | Store;

const key = (kid: string, createdAt: number, retiredAt: number | null = null): SigningKeyRecord => ({
  kid,
  privatePem: `-----BEGIN PRIVATE KEY-----\n${kid}\n-----END PRIVATE KEY-----\n`,
  createdAt,
  retiredAt,
});

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('signing keys', () => {
      it('starts empty', async () => {
        expect(await store.listSigningKeys()).to.deep.equal([]);
      });

      it('adds and lists keys oldest first', async () => {
        await store.addSigningKey(key('b', 2000));
        await store.addSigningKey(key('a', 1000));
        await store.addSigningKey(key('c', 3000, 3500));
        expect(await store.listSigningKeys()).to.deep.equal([key('a', 1000), key('b', 2000), key('c', 3000, 3500)]);
      });

      it('rejects a duplicate kid with duplicate_entity and keeps the first', async () => {
        await store.addSigningKey(key('a', 1000));
        const err = await store.addSigningKey({ ...key('a', 5000), privatePem: 'other' }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(AuthError);
        expect((err as AuthError).code).to.equal('duplicate_entity');
        expect(await store.listSigningKeys()).to.deep.equal([key('a', 1000)]);
      });

      it('retires a key once and reports unknown kids', async () => {
        await store.addSigningKey(key('a', 1000));
        expect(await store.retireSigningKey('a', 1500)).to.equal(true);
        expect(await store.retireSigningKey('a', 9999)).to.equal(true);
        expect(await store.retireSigningKey('nope', 1500)).to.equal(false);
        expect(await store.listSigningKeys()).to.deep.equal([key('a', 1000, 1500)]);
      });

      it('deletes keys', async () => {
        await store.addSigningKey(key('a', 1000));
        await store.addSigningKey(key('b', 2000));
        expect(await store.deleteSigningKey('a')).to.equal(true);
        expect(await store.deleteSigningKey('a')).to.equal(false);
        expect((await store.listSigningKeys()).map((k) => k.kid)).to.deep.equal(['b']);
      });

      it('returns copies: mutating a result does not change the store', async () => {
        await store.addSigningKey(key('a', 1000));
        const [first] = await store.listSigningKeys();
        first!.retiredAt = 1;
        expect((await store.listSigningKeys())[0]!.retiredAt).to.equal(null);
      });

      it('handles concurrent adds', async () => {
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.addSigningKey(key(`k${i}`, i))));
        expect(await store.listSigningKeys()).to.have.length(50);
      });
    });
  });
}
