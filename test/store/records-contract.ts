/**
 * The store contract suite. Every backend runs it unchanged:
 *   storeContract('sqlite', () => new SqliteStore(dir));
 * (the suite of durable records; test/store/state-contract.ts is the one of short-lived state)
 */
import { expect } from 'chai';
import { StoreError } from '../../src/errors.js';
import { keySubject, type AuditEvent, type RefreshTokenRecord, type Rotation, type SessionRecord, type SigningKeyRecord, type RecordStore, type AccountRecord } from '../../src/store/records.js';

export type StoreFactory = () => Promise<RecordStore> | RecordStore;

const key = (kid: string, createdAt: number, retiredAt: number | null = null): SigningKeyRecord => ({
  kid,
  privateKey: `v1.sealed-${kid}`,
  createdAt,
  retiredAt,
});

const user = (id: string, username: string, extra: Partial<AccountRecord> = {}): AccountRecord => ({
  id, username, passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${id}`, publicKeys: [], roles: [], disabled: false, createdAt: 1000, lastLoginAt: null, ...extra,
});
const keyAccount = (id: string, publicKeys: string[] = [id], extra: Partial<AccountRecord> = {}): AccountRecord => ({
  id, username: null, passwordHash: null, publicKeys, roles: [], disabled: false, createdAt: 1000, lastLoginAt: null, ...extra,
});
const session = (sid: string, sub: string, extra: Partial<SessionRecord> = {}): SessionRecord => ({
  sid, sub, createdAt: 1000, expiresAt: 100_000, revokedAt: null, scope: null, ...extra,
});
const refresh = (hash: string, sid: string, extra: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  hash, sid, createdAt: 1000, expiresAt: 50_000, usedAt: null, replacedBy: null, ...extra,
});
const rotation = (hash: string, next: string, at: number, reuseIntervalMs = 0): Rotation => ({
  hash, successor: { hash: next, createdAt: at, usedAt: null, replacedBy: null }, at, reuseIntervalMs,
});

async function expectDuplicate(promise: Promise<unknown>): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).to.be.instanceOf(StoreError);
  expect((err as StoreError).code).to.equal('conflict');
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    let store: RecordStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    it('answers ping', async () => {
      await store.ping();
    });

    describe('signing keys', () => {
      it('starts empty', async () => {
        expect(await store.listSigningKeys()).to.deep.equal([]);
      });

      it('adds and lists keys oldest first', async () => {
        await store.addSigningKey(key('b', 2000));
        await store.addSigningKey(key('a', 1000, 1500));
        await store.addSigningKey(key('c', 3000, 3500));
        expect(await store.listSigningKeys()).to.deep.equal([key('a', 1000, 1500), key('b', 2000), key('c', 3000, 3500)]);
      });

      it('rejects a duplicate kid with conflict and keeps the first', async () => {
        await store.addSigningKey(key('a', 1000));
        const err = await store.addSigningKey({ ...key('a', 5000, 6000), privateKey: 'other' }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(StoreError);
        expect((err as StoreError).code).to.equal('conflict');
        expect(await store.listSigningKeys()).to.deep.equal([key('a', 1000)]);
      });

      it('keeps exactly one signing key: of many concurrent first keys, one is added', async () => {
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.addSigningKey(key(`k${i}`, 1000 + i))));
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        for (const r of results) if (r.status === 'rejected') expect((r.reason as StoreError).code).to.equal('conflict');
        expect(await store.listSigningKeys()).to.have.length(1);
      });

      it('rotates in one commit: the signing key is retired and the new one signs', async () => {
        await store.addSigningKey(key('old-retired', 500, 700));
        await store.addSigningKey(key('a', 1000));
        await store.rotateSigningKey(key('b', 2000), 2500);
        expect(await store.listSigningKeys()).to.deep.equal([key('old-retired', 500, 700), key('a', 1000, 2500), key('b', 2000)]);
        const err = await store.rotateSigningKey(key('b', 3000), 3500).catch((e: unknown) => e);
        expect((err as StoreError).code, 'a rotation that cannot add its key changes nothing').to.equal('conflict');
        expect((await store.listSigningKeys()).filter((k) => k.retiredAt === null).map((k) => k.kid)).to.deep.equal(['b']);
      });

      it('seals a key in place and reports unknown kids', async () => {
        await store.addSigningKey({ ...key('a', 1000), privateKey: '-----BEGIN PRIVATE KEY-----' });
        expect(await store.sealSigningKey('a', 'v1.sealed-a')).to.equal(true);
        expect(await store.sealSigningKey('nope', 'v1.x')).to.equal(false);
        expect(await store.listSigningKeys()).to.deep.equal([key('a', 1000)]);
      });

      it('deletes keys', async () => {
        await store.addSigningKey(key('a', 1000, 1500));
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

      it('handles concurrent adds of retired keys', async () => {
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.addSigningKey(key(`k${i}`, i, i + 1))));
        expect(await store.listSigningKeys()).to.have.length(50);
      });
    });

    describe('accounts', () => {
      it('creates and finds accounts by id, by username and by key', async () => {
        const u = user('u1', 'alice', { roles: ['admin', 'read'], publicKeys: ['bkey1', 'bkey2'] });
        await store.createAccount(u);
        expect(await store.getAccount('u1')).to.deep.equal(u);
        expect(await store.getAccountByUsername('alice')).to.deep.equal(u);
        expect(await store.getAccountByKey('bkey2')).to.deep.equal(u);
        expect(await store.getAccount('nope')).to.equal(undefined);
        expect(await store.getAccountByUsername('bob')).to.equal(undefined);
        expect(await store.getAccountByKey('bkey3')).to.equal(undefined);
      });

      it('keeps accounts without username or password', async () => {
        await store.createAccount(keyAccount('bpub1'));
        await store.createAccount(keyAccount('app-user-7', []));
        await store.createAccount(keyAccount('app-user-8', []));
        expect(await store.getAccountByKey('bpub1')).to.deep.equal(keyAccount('bpub1'));
        expect(await store.getAccount('app-user-7')).to.deep.equal(keyAccount('app-user-7', []));
        expect(await store.countAccounts()).to.equal(3);
      });

      it('refuses a duplicate id, username or key with conflict, and creates nothing of it', async () => {
        await store.createAccount(user('u1', 'alice', { publicKeys: ['bkey1'] }));
        await expectDuplicate(store.createAccount(user('u2', 'alice')));
        await expectDuplicate(store.createAccount(user('u1', 'bob')));
        await expectDuplicate(store.createAccount(keyAccount('u3', ['bkey9', 'bkey1'])));
        expect(await store.countAccounts()).to.equal(1);
        expect(await store.getAccountByKey('bkey9')).to.equal(undefined);
      });

      it('lets exactly one of many concurrent creations of one id, username or key win', async () => {
        const byName = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.createAccount(user(`u${i}`, 'carol'))));
        expect(byName.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        const byId = await Promise.allSettled(Array.from({ length: 20 }, () => store.createAccount(keyAccount('same-id', []))));
        expect(byId.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        const byKey = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.createAccount(keyAccount(`k${i}`, ['bshared']))));
        expect(byKey.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        expect(await store.countAccounts()).to.equal(3);
      });

      it('updates some fields and leaves the rest', async () => {
        await store.createAccount(user('u1', 'alice'));
        expect(await store.updateAccount('u1', { disabled: true })).to.equal(true);
        expect(await store.updateAccount('u1', { passwordHash: 'new', roles: ['x'] })).to.equal(true);
        expect(await store.updateAccount('u1', { lastLoginAt: 7000 })).to.equal(true);
        expect(await store.updateAccount('u1', { disabled: false })).to.equal(true);
        expect(await store.getAccount('u1')).to.deep.equal(user('u1', 'alice', { passwordHash: 'new', roles: ['x'], lastLoginAt: 7000 }));
        expect(await store.updateAccount('nope', { disabled: true })).to.equal(false);
      });

      it('stamps the last login of many accounts at once, never moving a stamp back', async () => {
        await store.createAccount(user('u1', 'alice'));
        await store.createAccount(user('u2', 'bob', { lastLoginAt: 9000 }));
        await store.createAccount(keyAccount('bpub1'));
        await store.recordLogins([{ id: 'bpub1', at: 6000 }, { id: 'gone', at: 1 }, { id: 'u1', at: 5000 }, { id: 'u2', at: 8000 }]);
        expect((await store.getAccount('u1'))!.lastLoginAt).to.equal(5000);
        expect((await store.getAccount('u2'))!.lastLoginAt, 'a later stamp stays').to.equal(9000);
        expect((await store.getAccount('bpub1'))!.lastLoginAt).to.equal(6000);
        expect(await store.getAccount('gone')).to.equal(undefined);
        await store.recordLogins([]);
        const many = Array.from({ length: 300 }, (_, i) => user(`m${i}`, `many${i}`));
        for (const a of many) await store.createAccount(a);
        await store.recordLogins(many.map((a, i) => ({ id: a.id, at: 10_000 + i })).sort((a, b) => (a.id < b.id ? -1 : 1)));
        expect((await store.getAccount('m299'))!.lastLoginAt).to.equal(10_299);
        expect((await store.getAccount('u1'))!.lastLoginAt, 'other accounts untouched').to.equal(5000);
        // Writers with overlapping batches (several instances) all succeed: rows are taken in id order.
        const batches = Array.from({ length: 6 }, (_, w) => many.filter((_, i) => (i + w) % 3 !== 0).map((a) => ({ id: a.id, at: 20_000 + w })).sort((a, b) => (a.id < b.id ? -1 : 1)));
        await Promise.all(batches.map((b) => store.recordLogins(b)));
        expect((await store.getAccount('m1'))!.lastLoginAt).to.be.at.least(20_000);
      });

      it('links a key to one account at most, unlinks it, and links it again', async () => {
        await store.createAccount(user('u1', 'alice'));
        await store.createAccount(keyAccount('bpub1'));
        expect(await store.linkKey('u1', 'bnew', 2000)).to.equal(true);
        expect(await store.linkKey('u1', 'bnew2', 3000)).to.equal(true);
        expect((await store.getAccount('u1'))!.publicKeys).to.deep.equal(['bnew', 'bnew2']);
        await expectDuplicate(store.linkKey('u1', 'bnew', 4000));
        await expectDuplicate(store.linkKey('u1', 'bpub1', 4000));
        expect(await store.linkKey('nobody', 'bother', 4000)).to.equal(false);
        expect(await store.getAccountByKey('bother')).to.equal(undefined);
        expect(await store.unlinkKey('bpub1', 'bnew')).to.equal('not_linked');
        expect(await store.unlinkKey('nobody', 'bnew')).to.equal('not_linked');
        expect(await store.unlinkKey('u1', 'bnew')).to.equal('unlinked');
        expect(await store.unlinkKey('u1', 'bnew')).to.equal('not_linked');
        expect(await store.unlinkKey('u1', 'bnew2'), 'a password is left').to.equal('unlinked');
        expect(await store.unlinkKey('bpub1', 'bpub1'), 'the only way to log in').to.equal('last_credential');
        expect((await store.getAccount('bpub1'))!.publicKeys).to.deep.equal(['bpub1']);
        expect(await store.linkKey('bpub1', 'bnew', 5000)).to.equal(true);
        expect((await store.getAccountByKey('bnew'))!.id).to.equal('bpub1');
      });

      it('lets exactly one of many concurrent links of one key win', async () => {
        for (let i = 0; i < 5; i++) await store.createAccount(keyAccount(`a${i}`, []));
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.linkKey(`a${i % 5}`, 'bcontested', 1000 + i)));
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof StoreError)).to.equal(true);
      });

      it('never lets concurrent unlinks take an account\'s last way to log in', async () => {
        for (let i = 0; i < 5; i++) {
          await store.createAccount(keyAccount(`two${i}`, [`bk${i}a`, `bk${i}b`]));
          const outcomes = await Promise.all([store.unlinkKey(`two${i}`, `bk${i}a`), store.unlinkKey(`two${i}`, `bk${i}b`)]);
          expect(outcomes.sort()).to.deep.equal(['last_credential', 'unlinked']);
          expect((await store.getAccount(`two${i}`))!.publicKeys).to.have.length(1);
        }
      });

      it('deletes an account with its key links', async () => {
        await store.createAccount(user('u1', 'alice', { publicKeys: ['bkey1'] }));
        expect(await store.deleteAccount('u1')).to.equal(true);
        expect(await store.deleteAccount('u1')).to.equal(false);
        expect(await store.getAccountByKey('bkey1')).to.equal(undefined);
        await store.createAccount(keyAccount('bkey1'));
        expect((await store.getAccountByKey('bkey1'))!.id).to.equal('bkey1');
      });

      it('lists accounts by id with offset, limit and a prefix of the id, username or a key', async () => {
        for (const [id, name] of [['4', 'dave'], ['2', 'bob'], ['3', 'carol'], ['1', 'alice']]) await store.createAccount(user(id!, name!));
        await store.createAccount(keyAccount('bzz', ['bzz', 'bcarolkey']));
        expect((await store.listAccounts({ offset: 0, limit: 10 })).map((u) => u.id)).to.deep.equal(['1', '2', '3', '4', 'bzz']);
        expect((await store.listAccounts({ offset: 1, limit: 2 })).map((u) => u.username)).to.deep.equal(['bob', 'carol']);
        expect((await store.listAccounts({ offset: 0, limit: 10, prefix: 'car' })).map((u) => u.id)).to.deep.equal(['3']);
        expect((await store.listAccounts({ offset: 0, limit: 10, prefix: 'bcar' })).map((u) => u.id)).to.deep.equal(['bzz']);
        expect((await store.listAccounts({ offset: 0, limit: 10, prefix: '%' })).map((u) => u.id)).to.deep.equal([]);
        expect((await store.listAccounts({ offset: 0, limit: 10, prefix: '_' })).map((u) => u.id)).to.deep.equal([]);
        expect(await store.countAccounts()).to.equal(5);
        expect(await store.countAccounts({ prefix: 'b' })).to.equal(2);
      });
    });

    describe('audit events', () => {
      const event = (at: number, type: string, subject: string | null, extra: Partial<AuditEvent> = {}): AuditEvent => ({
        at, type, subject, address: '10.0.0.1', door: null, code: null, detail: {}, ...extra,
      });

      it('appends in order and answers by subject, type, time and page', async () => {
        await store.appendAudit([event(1000, 'login.succeeded', 'u1', { door: 'password', detail: { scope: 'a b', n: 2, ok: true } }), event(2000, 'login.refused', 'u2', { code: 'invalid_credentials' })]);
        await store.appendAudit([event(3000, 'token.revoked', 'u1'), event(4000, 'login.succeeded', 'u1')]);
        await store.appendAudit([]);
        const all = await store.queryAudit({ limit: 10 });
        expect(all.map((e) => e.type)).to.deep.equal(['login.succeeded', 'login.refused', 'token.revoked', 'login.succeeded']);
        expect(all[0]).to.deep.include({ at: 1000, subject: 'u1', address: '10.0.0.1', door: 'password', code: null, detail: { scope: 'a b', n: 2, ok: true } });
        expect(all.map((e) => e.id)).to.deep.equal([...all.map((e) => e.id)].sort((a, b) => a - b));
        expect((await store.queryAudit({ subject: 'u1', limit: 10 })).map((e) => e.at)).to.deep.equal([1000, 3000, 4000]);
        expect((await store.queryAudit({ type: 'login.succeeded', since: 2000, limit: 10 })).map((e) => e.at)).to.deep.equal([4000]);
        const first = await store.queryAudit({ limit: 2 });
        expect((await store.queryAudit({ afterId: first[1]!.id, limit: 2 })).map((e) => e.at)).to.deep.equal([3000, 4000]);
        expect(await store.purgeAudit(3000)).to.equal(2);
        expect((await store.queryAudit({ limit: 10 })).map((e) => e.at)).to.deep.equal([3000, 4000]);
      });

      it('keeps every event of many concurrent appends', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendAudit([event(i, 'x', `s${i}`), event(i, 'y', `s${i}`)])));
        expect(await store.queryAudit({ limit: 100 })).to.have.length(40);
      });

      it('never lets a reader paging with afterId skip an event that concurrent writers commit', async () => {
        const writers = 4;
        const batches = 15;
        const size = 200;
        let writing = true;
        const seen: number[] = [];
        let after = 0;
        const readPage = async () => {
          const page = await store.queryAudit({ afterId: after, limit: 1000 });
          for (const e of page) seen.push(e.id);
          if (page.length > 0) after = page[page.length - 1]!.id;
          return page.length;
        };
        const reader = (async () => {
          while (writing) await readPage();
          while (await readPage() > 0);
        })();
        await Promise.all(Array.from({ length: writers }, async (_, w) => {
          for (let b = 0; b < batches; b++) await store.appendAudit(Array.from({ length: size }, (__, i) => event(b * size + i, 'page', `w${w}`)));
        }));
        writing = false;
        await reader;
        expect(seen.length, 'every event read once').to.equal(writers * batches * size);
        expect(new Set(seen).size).to.equal(seen.length);
      });
    });

    describe('sessions and refresh tokens', () => {
      it('creates a session with its first refresh token in one commit, and finds both', async () => {
        await store.createSession(session('s1', 'u1', { scope: 'read write' }), refresh('h1', 's1'));
        expect(await store.getSession('s1')).to.deep.equal(session('s1', 'u1', { scope: 'read write' }));
        expect(await store.getRefreshToken('h1')).to.deep.equal(refresh('h1', 's1'));
        expect(await store.getSession('nope')).to.equal(undefined);
        expect(await store.getRefreshToken('nope')).to.equal(undefined);
      });

      it('stores neither the session nor the token when either is a duplicate', async () => {
        await store.createSession(session('s1', 'u1'), refresh('h1', 's1'));
        await expectDuplicate(store.createSession(session('s1', 'u2'), refresh('h2', 's1')));
        expect(await store.getRefreshToken('h2')).to.equal(undefined);
        await expectDuplicate(store.createSession(session('s2', 'u2'), refresh('h1', 's2')));
        expect(await store.getSession('s2')).to.equal(undefined);
        expect(await store.getSession('s1')).to.deep.equal(session('s1', 'u1'));
      });

      it('ends a stored session; the first revocation time wins', async () => {
        await store.createSession(session('s1', 'u1'), refresh('h1', 's1'));
        await store.endSession({ sid: 's1', sub: 'u1', expiresAt: 1 }, 2000);
        await store.endSession({ sid: 's1', sub: 'u1', expiresAt: 1 }, 3000);
        expect(await store.getSession('s1')).to.deep.equal(session('s1', 'u1', { revokedAt: 2000 }));
      });

      it('ends a session that was never stored by storing it revoked until its expiry', async () => {
        await store.endSession({ sid: 'kp', sub: 'bbaa-key', expiresAt: 90_000 }, 4000);
        expect(await store.getSession('kp')).to.deep.equal({ sid: 'kp', sub: 'bbaa-key', createdAt: 4000, expiresAt: 90_000, revokedAt: 4000, scope: null });
        expect(await store.purgeExpired(80_000)).to.equal(0);
        expect(await store.purgeExpired(95_000)).to.equal(1);
        expect(await store.getSession('kp')).to.equal(undefined);
      });

      it('revokes every session of a subject', async () => {
        await store.createSession(session('s1', 'u1'), refresh('h1', 's1'));
        await store.createSession(session('s2', 'u1'), refresh('h2', 's2'));
        await store.createSession(session('s3', 'u2'), refresh('h3', 's3'));
        expect(await store.revokeSessionsOfSubject('u1', 5000)).to.equal(2);
        expect(await store.revokeSessionsOfSubject('u1', 6000)).to.equal(0);
        expect((await store.getSession('s2'))!.revokedAt).to.equal(5000);
        expect((await store.getSession('s3'))!.revokedAt).to.equal(null);
      });

      it('rotates a refresh token: spends it and adds its successor in the same session, with its expiry', async () => {
        await store.createSession(session('s1', 'u1'), refresh('h1', 's1'));
        const result = await store.rotateRefreshToken(rotation('h1', 'h2', 2000));
        expect(result).to.deep.equal({ outcome: 'rotated', token: refresh('h1', 's1', { usedAt: 2000, replacedBy: 'h2' }), session: session('s1', 'u1') });
        expect(await store.getRefreshToken('h1')).to.deep.equal(refresh('h1', 's1', { usedAt: 2000, replacedBy: 'h2' }));
        expect(await store.getRefreshToken('h2')).to.deep.equal(refresh('h2', 's1', { createdAt: 2000 }));
        expect(await store.rotateRefreshToken(rotation('nope', 'x', 2000))).to.deep.equal({ outcome: 'unknown' });
      });

      it('answers a repeat within the reuse interval, for the same still-unused successor, as a repeat', async () => {
        await store.createSession(session('s1', 'u1'), refresh('h1', 's1'));
        await store.rotateRefreshToken(rotation('h1', 'h2', 2000, 5000));
        const again = await store.rotateRefreshToken(rotation('h1', 'h2', 6000, 5000));
        expect(again.outcome).to.equal('repeated');
        expect((await store.getSession('s1'))!.revokedAt).to.equal(null);
      });

      it('treats a second use as reuse and revokes the session in the same commit: after the interval, for another successor, or once the successor was used', async () => {
        const cases: Array<[string, (s: RecordStore) => Promise<unknown>]> = [
          ['after the interval', (s) => s.rotateRefreshToken(rotation('h1', 'h2', 7001, 5000))],
          ['another successor', (s) => s.rotateRefreshToken(rotation('h1', 'other', 3000, 5000))],
          ['successor used', async (s) => {
            await s.rotateRefreshToken(rotation('h2', 'h3', 2500, 5000));
            return s.rotateRefreshToken(rotation('h1', 'h2', 3000, 5000));
          }],
        ];
        for (const [name, repeat] of cases) {
          const sid = `s-${name}`;
          await store.createSession(session(sid, 'u1'), refresh(`h1`, sid));
          await store.rotateRefreshToken(rotation('h1', 'h2', 2000, 5000));
          const result = (await repeat(store)) as { outcome: string; session?: { revokedAt: number | null } };
          expect(result.outcome, name).to.equal('reused');
          expect(result.session?.revokedAt, name).to.be.a('number');
          expect((await store.getSession(sid))!.revokedAt, name).to.be.a('number');
          await store.close();
          store = await factory();
        }
      });

      it('has no reuse interval at 0, not even for a repeat stamped at the same instant or earlier', async () => {
        await store.createSession(session('s1', 'u1'), refresh('h1', 's1'));
        await store.rotateRefreshToken(rotation('h1', 'h2', 2000, 0));
        expect((await store.rotateRefreshToken(rotation('h1', 'h2', 1999, 0))).outcome).to.equal('reused');
      });

      it('lets exactly one of many concurrent rotations of a token win', async () => {
        await store.createSession(session('s1', 'u1'), refresh('h1', 's1'));
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.rotateRefreshToken(rotation('h1', `next${i}`, 2000 + i))));
        expect(results.filter((r) => r.outcome === 'rotated')).to.have.length(1);
        expect(results.filter((r) => r.outcome === 'reused')).to.have.length(19);
      });
    });

    describe('revocations', () => {
      it('revokes access tokens by jti, idempotently', async () => {
        expect(await store.isTokenRevoked('j1')).to.equal(false);
        await store.revokeToken('j1', 9000);
        await store.revokeToken('j1', 9000);
        expect(await store.isTokenRevoked('j1')).to.equal(true);
        expect(await store.isTokenRevoked('j2')).to.equal(false);
      });

      it('revokes subjects; the later time wins', async () => {
        expect(await store.subjectRevokedAt('u1')).to.equal(undefined);
        await store.revokeSubject('u1', 5000);
        await store.revokeSubject('u1', 4000);
        expect(await store.subjectRevokedAt('u1')).to.equal(5000);
        await store.revokeSubject('u1', 6000);
        expect(await store.subjectRevokedAt('u1')).to.equal(6000);
      });

      it('reads everything that can end a token in one call', async () => {
        await store.createAccount(user('u1', 'alice'));
        await store.createSession(session('s1', 'u1'), refresh('h1', 's1'));
        expect(await store.tokenStanding({ jti: 'j1', sid: 's1', sub: 'u1', pubkey: undefined }))
          .to.deep.equal({ jtiRevoked: false, session: session('s1', 'u1'), subjectRevokedAt: undefined, account: { disabled: false } });
        await store.revokeToken('j1', 9000);
        await store.revokeSubject('u1', 5000);
        await store.updateAccount('u1', { disabled: true });
        await store.endSession({ sid: 's1', sub: 'u1', expiresAt: 1 }, 6000);
        expect(await store.tokenStanding({ jti: 'j1', sid: 's1', sub: 'u1', pubkey: undefined }))
          .to.deep.equal({ jtiRevoked: true, session: session('s1', 'u1', { revokedAt: 6000 }), subjectRevokedAt: 5000, account: { disabled: true } });
        expect(await store.tokenStanding({ jti: 'j2', sid: undefined, sub: 'nobody', pubkey: undefined }))
          .to.deep.equal({ jtiRevoked: false, session: undefined, subjectRevokedAt: undefined, account: undefined });
        expect(await store.tokenStanding({ jti: 'j2', sid: 'nope', sub: 'u1', pubkey: 'bkey' }))
          .to.deep.equal({ jtiRevoked: false, session: undefined, subjectRevokedAt: 5000, account: { disabled: true }, keyLinked: false });
        await store.linkKey('u1', 'bkey', 7000);
        expect((await store.tokenStanding({ jti: 'j2', sid: undefined, sub: 'u1', pubkey: 'bkey' })).keyLinked).to.equal(true);
        await store.unlinkKey('u1', 'bkey');
        // A revoked key (unlinked) counts as the subject's revocation; the later time wins. A bare
        // subject that equals the key string is another namespace (an account whose id is a key).
        await store.revokeSubject('bkey', 9000);
        expect((await store.tokenStanding({ jti: 'j2', sid: undefined, sub: 'u1', pubkey: 'bkey' })).subjectRevokedAt).to.equal(5000);
        await store.revokeSubject(keySubject('bkey'), 8000);
        expect((await store.tokenStanding({ jti: 'j2', sid: undefined, sub: 'u1', pubkey: 'bkey' })).subjectRevokedAt).to.equal(8000);
        expect((await store.tokenStanding({ jti: 'j2', sid: undefined, sub: 'u1', pubkey: 'bother' })).subjectRevokedAt).to.equal(5000);
      });

      it('advances the revocation epoch with every bump, concurrent ones included, and never moves it back', async () => {
        const first = await store.revocationEpoch();
        await store.bumpRevocationEpoch();
        const second = await store.revocationEpoch();
        expect(second).to.be.above(first);
        await Promise.all(Array.from({ length: 10 }, () => store.bumpRevocationEpoch()));
        expect(await store.revocationEpoch()).to.be.at.least(second + 10);
      });

      it('purges what has expired and keeps the rest', async () => {
        await store.revokeToken('j-old', 100);
        await store.revokeToken('j-new', 10_000);
        await store.createSession(session('s-old', 'u', { expiresAt: 100 }), refresh('old', 's-old', { expiresAt: 100 }));
        await store.createSession(session('s-new', 'u', { expiresAt: 10_000 }), refresh('new', 's-new', { expiresAt: 10_000 }));
        expect(await store.purgeExpired(5000)).to.equal(3);
        expect(await store.rotateRefreshToken(rotation('old', 'x', 6000))).to.deep.equal({ outcome: 'unknown' });
        expect((await store.rotateRefreshToken(rotation('new', 'y', 6000))).outcome).to.equal('rotated');
        expect(await store.isTokenRevoked('j-old')).to.equal(false);
        expect(await store.isTokenRevoked('j-new')).to.equal(true);
        expect(await store.getSession('s-old')).to.equal(undefined);
        expect(await store.getSession('s-new')).to.not.equal(undefined);
      });
    });
  });
}
