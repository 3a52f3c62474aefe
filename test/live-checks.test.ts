/** Remembered checks of live tokens (REVOCATION_CACHE_MS): fast repeats, revocations still bite. */
import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { LIVE_CHECKS_MAX, LiveChecks } from '../src/core/live-checks.js';
import { KEY_ACCOUNT_REMEMBER_S } from '../src/core/tokens.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TestClock, type TestKeygate } from './helpers/keygate.js';
import { basic, bearer, client } from './helpers/http.js';

describe('remembered checks of live tokens', () => {
  let kg: TestKeygate;
  const clock = new TestClock();
  const reads = { standing: 0, epoch: 0 };
  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off', REVOCATION_CACHE_MS: '500' }, undefined, { now: clock.now });
    const store = kg.core.store;
    const tokenStanding = store.tokenStanding.bind(store);
    const revocationEpoch = store.revocationEpoch.bind(store);
    store.tokenStanding = (query) => {
      reads.standing++;
      return tokenStanding(query);
    };
    store.revocationEpoch = () => {
      reads.epoch++;
      return revocationEpoch();
    };
  });
  after(() => kg.stop());

  const active = async (token: string) =>
    (await client(kg.url).post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body.active as boolean;

  it('answers repeated introspections from the remembered checks: one epoch read per REVOCATION_CACHE_MS, no per-token read', async () => {
    const token = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
    clock.advance(501); // the handshake confirmed the epoch (for its key's account); let that lapse
    reads.standing = reads.epoch = 0;
    for (let i = 0; i < 5; i++) expect(await active(token)).to.equal(true);
    expect(reads).to.deep.equal({ standing: 1, epoch: 1 });
    clock.advance(501);
    for (let i = 0; i < 5; i++) expect(await active(token)).to.equal(true);
    expect(reads).to.deep.equal({ standing: 1, epoch: 2 });
  });

  it('remembers the account of a returning key: its handshakes read no account, and an account change is seen at once', async () => {
    const identity = PrivateKey.fromRandom();
    const pubkey = identity.public.toString();
    await keypairLogin(identity, kg.wsUrl);
    const store = kg.core.store;
    const getAccountByKey = store.getAccountByKey.bind(store);
    let accountReads = 0;
    store.getAccountByKey = (key) => {
      accountReads++;
      return getAccountByKey(key);
    };
    try {
      await keypairLogin(identity, kg.wsUrl); // the first returning login reads and remembers it
      accountReads = 0;
      for (let i = 0; i < 3; i++) await keypairLogin(identity, kg.wsUrl);
      expect(accountReads, 'returning handshakes within REVOCATION_CACHE_MS').to.equal(0);
      clock.advance(KEY_ACCOUNT_REMEMBER_S * 1000);
      await keypairLogin(identity, kg.wsUrl);
      expect(accountReads, 'read again after KEY_ACCOUNT_REMEMBER_S, even with nothing changed').to.equal(1);
      accountReads = 0;
      await kg.core.accounts.update(pubkey, { roles: ['late-role'] });
      const auth = await keypairLogin(identity, kg.wsUrl, { scope: 'late-role' });
      expect(accountReads, 'a role change is seen by the next handshake').to.equal(1);
      expect(auth.token).to.be.a('string');
      await kg.core.accounts.update(pubkey, { disabled: true });
      const refused = await keypairLogin(identity, kg.wsUrl).catch((e: Error) => e.message);
      expect(refused).to.equal('This identity is disabled.');
    } finally {
      store.getAccountByKey = getAccountByKey;
    }
  });

  it('forgets every check at a revocation made through this instance', async () => {
    const token = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
    expect(await active(token)).to.equal(true);
    expect((await client(kg.url).post('/api/logout', undefined, { headers: bearer(token) })).status).to.equal(204);
    expect(await active(token)).to.equal(false);
  });

  it('sees a revocation made elsewhere, whose message was lost, once REVOCATION_CACHE_MS has passed', async () => {
    const token = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
    expect(await active(token)).to.equal(true);
    const claims = await kg.core.tokens.signedClaims(token);
    // As another instance would: the revocation and its epoch, and no message.
    await kg.core.store.revokeToken(claims.jti, claims.exp * 1000);
    await kg.core.store.bumpRevocationEpoch();
    expect(await active(token)).to.equal(true);
    clock.advance(501);
    expect(await active(token)).to.equal(false);
  });

  it('keeps the signature check through a revocation elsewhere: only the standing is read again', async () => {
    const token = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
    expect(await active(token)).to.equal(true);
    const verify = kg.core.keys.publicKey.bind(kg.core.keys);
    let signatureChecks = 0;
    kg.core.keys.publicKey = (kid) => {
      signatureChecks++;
      return verify(kid);
    };
    try {
      await kg.core.store.bumpRevocationEpoch();
      clock.advance(501);
      expect(await active(token)).to.equal(true);
      expect(signatureChecks).to.equal(0);
    } finally {
      kg.core.keys.publicKey = verify;
    }
  });

  it('never answers for an expired token, trusts only a recent confirmation, and keeps at most LIVE_CHECKS_MAX', () => {
    const checks = new LiveChecks<{ exp: number }>(500);
    expect(checks.needsConfirmation(0)).to.equal(true);
    checks.confirm(7, 0);
    checks.remember('t', { exp: 10 });
    expect(checks.get('t', 499)).to.deep.equal({ value: { exp: 10 }, fresh: true });
    expect(checks.needsConfirmation(500)).to.equal(true);
    expect(checks.get('t', 500)).to.deep.equal({ value: { exp: 10 }, fresh: false });
    checks.confirm(7, 500); // nothing revoked since
    expect(checks.get('t', 600)).to.deep.equal({ value: { exp: 10 }, fresh: true });
    checks.confirm(8, 700); // something was
    expect(checks.get('t', 700)).to.deep.equal({ value: { exp: 10 }, fresh: false });
    checks.remember('t', { exp: 10 });
    checks.forget();
    expect(checks.get('t', 700)).to.deep.equal({ value: { exp: 10 }, fresh: false });
    expect(checks.get('t', 10_000)).to.equal(undefined);
    // A revocation seen while a check was under way leaves what that check found stale.
    const begun = checks.begin();
    checks.confirm(9, 800);
    checks.remember('raced', { exp: 1e9 }, begun);
    expect(checks.get('raced', 801)).to.deep.equal({ value: { exp: 1e9 }, fresh: false });
    for (let i = 0; i <= LIVE_CHECKS_MAX; i++) checks.remember(`k${i}`, { exp: 1e9 });
    expect(checks.get('k0', 801)).to.equal(undefined);
    expect(checks.get(`k${LIVE_CHECKS_MAX}`, 801)).to.deep.equal({ value: { exp: 1e9 }, fresh: true });
    const off = new LiveChecks<{ exp: number }>(0);
    expect(off.needsConfirmation(0)).to.equal(false);
    off.remember('t', { exp: 1e9 });
    expect(off.get('t', 0)).to.equal(undefined);
  });
});
