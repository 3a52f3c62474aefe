/**
 * Logins as revocable chains (issue 8, items 4, 11, 12, 13, 14, 17): every token descends
 * from one login session, keeps its scope, never outlives it, and dies with it.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TestClock, type TestKeygate } from './helpers/keygate.js';
import { basic, bearer, client, type ApiClient } from './helpers/http.js';
import { StoreError } from '../src/errors.js';

const PASSWORD = 'correct horse battery';
let seq = 0;
const uniqueName = () => `chain${++seq}_${Date.now().toString(36)}`;

describe('hardening: login sessions', () => {
  let kg: TestKeygate;
  let api: ApiClient;
  const clock = new TestClock();
  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off', TOKEN_TTL: '600', REFRESH_TTL: '3600', REISSUE_LIMIT_POINTS: '1000' }, undefined, { now: clock.now });
    api = client(kg.url);
  });
  after(() => kg.stop());

  const active = async (token: string) =>
    (await api.post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body.active as boolean;
  const reissue = (token: string) => api.get('/api/userauth', { headers: bearer(token) });

  async function passwordLogin(roles: string[] = [], scope?: string) {
    const username = uniqueName();
    const user = await kg.core.users.register(username, PASSWORD, roles);
    const res = await api.post('/api/login', { username, password: PASSWORD, ...(scope === undefined ? {} : { scope }) });
    expect(res.status).to.equal(200);
    return { user, ...(res.body as { userAuth: { token: string }; refreshToken: string }) };
  }

  describe('4. a keypair logout ends every copy', () => {
    it('refuses every token reissued from a keypair login once that login logs out', async () => {
      const first = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
      const copy = (await reissue(first)).body.token as string;
      const copyOfCopy = (await reissue(copy)).body.token as string;
      expect(decodeJwt(copyOfCopy).sid).to.equal(decodeJwt(first).sid);
      expect((await api.post('/api/logout', undefined, { headers: bearer(first) })).status).to.equal(204);
      for (const token of [first, copy, copyOfCopy]) {
        expect(await active(token)).to.equal(false);
        expect((await reissue(token)).status).to.equal(401);
      }
    });

    it('lets `tokens revoke <jwt>` (revokeClaims) end the copies too', async () => {
      const first = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
      const copy = (await reissue(first)).body.token as string;
      await kg.core.tokens.revokeClaims(await kg.core.tokens.signedClaims(copy), 'admin');
      expect([await active(first), await active(copy)]).to.deep.equal([false, false]);
    });

    it('never extends a login: a reissued keypair token expires with the first one', async () => {
      const first = (await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!;
      clock.advance(300_000);
      const later = (await reissue(first)).body.token as string;
      expect(decodeJwt(later).exp).to.equal(decodeJwt(first).exp);
      clock.advance(301_000);
      expect((await reissue(later)).status).to.equal(401);
    });

    it('never extends a password login past its session', async () => {
      // The injected clock: with the real one, a second boundary between the session's start and the token's iat made this flaky.
      const short = await startTestKeygate({ RATE_LIMITS: 'off', TOKEN_TTL: '600', REFRESH_TTL: '60' }, undefined, { now: new TestClock().now });
      try {
        const username = uniqueName();
        await short.core.users.register(username, PASSWORD);
        const res = await client(short.url).post('/api/login', { username, password: PASSWORD });
        const claims = decodeJwt(res.body.userAuth.token as string);
        expect(claims.exp! - claims.iat!).to.equal(60);
        const again = await client(short.url).get('/api/userauth', { headers: bearer(res.body.userAuth.token as string) });
        expect(decodeJwt(again.body.token as string).exp).to.be.at.most(claims.exp!);
      } finally {
        await short.stop();
      }
    });
  });

  describe('11. GET /api/userauth is limited', () => {
    it('charges each subject: past REISSUE_LIMIT_POINTS a token gets 429', async () => {
      const limited = await startTestKeygate({ RATE_LIMITS: 'off', REISSUE_LIMIT_POINTS: '3' });
      try {
        const token = (await keypairLogin(PrivateKey.fromRandom(), limited.wsUrl)).token!;
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) statuses.push((await client(limited.url).get('/api/userauth', { headers: bearer(token) })).status);
        expect(statuses).to.deep.equal([200, 200, 200, 429, 429]);
      } finally {
        await limited.stop();
      }
    });

    it('charges the address too', async () => {
      const limited = await startTestKeygate({ RATE_LIMIT_POINTS: '3' });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) statuses.push((await client(limited.url).get('/api/userauth', { headers: bearer('not-a-token') })).status);
        expect(statuses).to.deep.equal([401, 401, 401, 429]);
      } finally {
        await limited.stop();
      }
    });
  });

  describe('12. an expired session is over everywhere', () => {
    it('mints nothing past the session: tokens near its end expire with it, and nothing is reissued after', async () => {
      const { userAuth, refreshToken } = await passwordLogin();
      const sessionEnd = decodeJwt(userAuth.token).iat! + 3600; // REFRESH_TTL
      clock.advance(3_300_000); // the first access token is long dead; the session is not
      const late = await api.post('/api/refresh', { refreshToken });
      expect(decodeJwt(late.body.userAuth.token as string).exp).to.equal(sessionEnd);
      clock.advance(200_000);
      const copy = (await reissue(late.body.userAuth.token as string)).body.token as string;
      expect(decodeJwt(copy).exp).to.equal(sessionEnd);
      clock.advance(101_000); // past the session's end, before any purge
      for (const token of [late.body.userAuth.token as string, copy]) {
        expect((await reissue(token)).status).to.equal(401);
        expect(await active(token)).to.equal(false);
      }
      expect((await api.post('/api/refresh', { refreshToken: late.body.refreshToken })).status).to.equal(401);
    });
  });

  describe('13. a client can end its session with its refresh token', () => {
    it('ends the session through POST /api/revoke once the access token has expired', async () => {
      const { userAuth, refreshToken } = await passwordLogin();
      clock.advance(601_000); // TOKEN_TTL: the access token is dead, the refresh token is not
      expect((await api.post('/api/logout', undefined, { headers: bearer(userAuth.token) })).status).to.equal(401);
      const res = await api.post('/api/revoke', { token: refreshToken });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({});
      expect((await api.post('/api/refresh', { refreshToken })).status).to.equal(401);
    });

    it('ends the session with an expired access token as well, and answers unknown tokens alike', async () => {
      const { userAuth, refreshToken } = await passwordLogin();
      clock.advance(601_000);
      expect((await api.post('/api/revoke', { token: userAuth.token })).status).to.equal(200);
      expect((await api.post('/api/refresh', { refreshToken })).status).to.equal(401);
      expect((await api.post('/api/revoke', { token: 'rt_unknown' })).status).to.equal(200);
      expect((await api.post('/api/revoke', { token: 'not.a.jwt' })).status).to.equal(200);
      expect((await api.post('/api/revoke', { token: 42 })).body.error).to.equal('invalid_request');
    });
  });

  describe('a logout that fails halfway', () => {
    /** The next call of a store method fails as a dropped connection would (store_unavailable, 503). */
    function failOnce(method: 'endSession' | 'revokeToken' | 'bumpRevocationEpoch'): void {
      const store = kg.core.store as unknown as Record<typeof method, () => Promise<void>>;
      const real = store[method];
      store[method] = async () => {
        store[method] = real;
        throw new StoreError('unavailable', 'simulated');
      };
    }
    const logout = async (token: string) => (await api.post('/api/logout', undefined, { headers: bearer(token) })).status;

    it('can be retried when its session write fails, and the retry ends every copy', async () => {
      const { userAuth, refreshToken } = await passwordLogin();
      const copy = (await reissue(userAuth.token)).body.token as string;
      failOnce('endSession');
      expect(await logout(userAuth.token)).to.equal(503);
      // The retry may reach another instance, or this one after a restart: nothing remembered.
      kg.core.tokens.forgetChecks();
      expect(await logout(userAuth.token), 'the retry is not refused as revoked').to.equal(204);
      expect([await active(userAuth.token), await active(copy)]).to.deep.equal([false, false]);
      expect((await api.post('/api/refresh', { refreshToken })).status).to.equal(401);
    });

    it('has ended the login already when its later writes fail', async () => {
      for (const method of ['revokeToken', 'bumpRevocationEpoch'] as const) {
        const { userAuth, refreshToken } = await passwordLogin();
        const copy = (await reissue(userAuth.token)).body.token as string;
        expect(await active(userAuth.token), 'checked once: this instance remembers it as live').to.equal(true);
        failOnce(method);
        expect(await logout(userAuth.token), method).to.equal(503);
        for (const wait of [0, 60_000]) {
          clock.advance(wait);
          expect([await active(userAuth.token), await active(copy)], `${method}, ${wait} ms later`).to.deep.equal([false, false]);
        }
        expect((await api.post('/api/refresh', { refreshToken })).status, method).to.equal(401);
      }
    });
  });

  describe('14. a lost refresh reply is not theft', () => {
    it('answers a repeat of the just-used token with the same successor, and the chain goes on', async () => {
      const { refreshToken } = await passwordLogin();
      const first = await api.post('/api/refresh', { refreshToken });
      clock.advance(2000); // the reply was lost; the client retries
      const retry = await api.post('/api/refresh', { refreshToken });
      expect(retry.status).to.equal(200);
      expect(retry.body.refreshToken).to.equal(first.body.refreshToken);
      expect((await api.post('/api/refresh', { refreshToken: retry.body.refreshToken })).status).to.equal(200);
    });

    it('lets two tabs refresh at once without logging the user out', async () => {
      const { refreshToken } = await passwordLogin();
      const [a, b] = await Promise.all([api.post('/api/refresh', { refreshToken }), api.post('/api/refresh', { refreshToken })]);
      expect([a.status, b.status]).to.deep.equal([200, 200]);
      expect(a.body.refreshToken).to.equal(b.body.refreshToken);
      expect(await active(a.body.userAuth.token as string)).to.equal(true);
      expect(await active(b.body.userAuth.token as string)).to.equal(true);
    });

    it('still treats a repeat after REFRESH_REUSE_INTERVAL_MS as reuse and ends the login', async () => {
      const { refreshToken } = await passwordLogin();
      const next = await api.post('/api/refresh', { refreshToken });
      clock.advance(5001);
      expect((await api.post('/api/refresh', { refreshToken })).status).to.equal(401);
      expect((await api.post('/api/refresh', { refreshToken: next.body.refreshToken })).status).to.equal(401);
      expect(await active(next.body.userAuth.token as string)).to.equal(false);
    });

    it('treats a repeat as reuse once its successor has been used', async () => {
      const { refreshToken } = await passwordLogin();
      const next = await api.post('/api/refresh', { refreshToken });
      const after = await api.post('/api/refresh', { refreshToken: next.body.refreshToken });
      expect((await api.post('/api/refresh', { refreshToken })).status).to.equal(401);
      expect(await active(after.body.userAuth.token as string)).to.equal(false);
    });
  });

  describe('17. a login keeps its scope', () => {
    it('keeps a narrow scope through refresh and reissue, and drops a role removed since', async () => {
      const { user, userAuth, refreshToken } = await passwordLogin(['read', 'write', 'admin'], 'read write');
      expect(decodeJwt(userAuth.token).scope).to.equal('read write');
      const refreshed = await api.post('/api/refresh', { refreshToken });
      expect(decodeJwt(refreshed.body.userAuth.token as string).scope).to.equal('read write');
      expect(decodeJwt((await reissue(refreshed.body.userAuth.token as string)).body.token as string).scope).to.equal('read write');
      await kg.core.store.updateAccount(user.id, { roles: ['read', 'admin'] });
      const narrowed = await api.post('/api/refresh', { refreshToken: refreshed.body.refreshToken });
      expect(decodeJwt(narrowed.body.userAuth.token as string).scope).to.equal('read');
      await kg.core.store.updateAccount(user.id, { roles: ['admin'] });
      const none = await api.post('/api/refresh', { refreshToken: narrowed.body.refreshToken });
      expect(decodeJwt(none.body.userAuth.token as string).scope).to.equal(undefined);
    });
  });
});
