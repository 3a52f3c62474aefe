/** Remembered checks of live tokens (REVOCATION_CACHE_MS): fast repeats, revocations still bite. */
import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { LIVE_CHECKS_MAX, LiveChecks } from '../src/core/live-checks.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TestClock, type TestKeygate } from './helpers/keygate.js';
import { basic, bearer, client } from './helpers/http.js';

describe('remembered checks of live tokens', () => {
  let kg: TestKeygate;
  const clock = new TestClock();
  let reads = 0;
  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off', REVOCATION_CACHE_MS: '500' }, undefined, { now: clock.now });
    const tokenStanding = kg.core.store.tokenStanding.bind(kg.core.store);
    kg.core.store.tokenStanding = (query) => {
      reads++;
      return tokenStanding(query);
    };
  });
  after(() => kg.stop());

  const active = async (token: string) =>
    (await client(kg.url).post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body.active as boolean;

  it('answers a repeated introspection from the remembered check, without the store', async () => {
    const token = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
    reads = 0;
    for (let i = 0; i < 5; i++) expect(await active(token)).to.equal(true);
    expect(reads).to.equal(1);
    clock.advance(501);
    expect(await active(token)).to.equal(true);
    expect(reads).to.equal(2);
  });

  it('forgets every check at a revocation made through this instance', async () => {
    const token = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
    expect(await active(token)).to.equal(true);
    expect((await client(kg.url).post('/api/logout', undefined, { headers: bearer(token) })).status).to.equal(204);
    expect(await active(token)).to.equal(false);
  });

  it('sees a revocation it was not told about once REVOCATION_CACHE_MS has passed', async () => {
    const token = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
    expect(await active(token)).to.equal(true);
    const claims = await kg.core.tokens.signedClaims(token);
    await kg.core.store.revokeToken(claims.jti, claims.exp * 1000); // as another instance would, unannounced
    expect(await active(token)).to.equal(true);
    clock.advance(501);
    expect(await active(token)).to.equal(false);
  });

  it('never answers for an expired token, goes stale with time or a revocation, and keeps at most LIVE_CHECKS_MAX', () => {
    const checks = new LiveChecks<{ exp: number }>(500);
    checks.remember('t', { exp: 10 }, 0);
    expect(checks.get('t', 499)).to.deep.equal({ value: { exp: 10 }, fresh: true });
    expect(checks.get('t', 500)).to.deep.equal({ value: { exp: 10 }, fresh: false });
    checks.remember('t', { exp: 10 }, 600);
    checks.forget();
    expect(checks.get('t', 700)).to.deep.equal({ value: { exp: 10 }, fresh: false });
    expect(checks.get('t', 10_000)).to.equal(undefined);
    for (let i = 0; i <= LIVE_CHECKS_MAX; i++) checks.remember(`k${i}`, { exp: 1e9 }, 0);
    expect(checks.get('k0', 1)).to.equal(undefined);
    expect(checks.get(`k${LIVE_CHECKS_MAX}`, 1)).to.deep.equal({ value: { exp: 1e9 }, fresh: true });
    // A revocation while a check was under way leaves what that check found stale.
    const begun = checks.begin();
    checks.forget();
    checks.remember('raced', { exp: 1e9 }, 0, begun);
    expect(checks.get('raced', 1)).to.deep.equal({ value: { exp: 1e9 }, fresh: false });
    const off = new LiveChecks<{ exp: number }>(0);
    off.remember('t', { exp: 1e9 }, 0);
    expect(off.get('t', 0)).to.equal(undefined);
  });
});
