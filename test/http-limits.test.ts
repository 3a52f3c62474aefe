import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin, LoginError } from '../src/client/index.js';
import { startTestKeygate, type TestKeygate } from './helpers/keygate.js';
import { client } from './helpers/http.js';
import { within } from './helpers/poll.js';

const PASSWORD = 'correct horse battery';

describe('limits', () => {
  describe('per-account lockout', () => {
    let kg: TestKeygate;
    before(async () => {
      kg = await startTestKeygate({ LOCKOUT_ATTEMPTS: '3', LOCKOUT_WINDOW_S: '2', RATE_LIMITS: 'off' });
    });
    after(() => kg.stop());

    it('locks an account after LOCKOUT_ATTEMPTS failures, with Retry-After, until the window passes', async () => {
      const api = client(kg.url);
      await api.post('/api/users', { username: 'locked', password: PASSWORD });
      await api.post('/api/users', { username: 'neighbour', password: PASSWORD });
      const firstFailure = performance.now();
      for (let i = 0; i < 3; i++) expect((await api.post('/api/login', { username: 'locked', password: 'wrong password' })).status).to.equal(401);
      const locked = await api.post('/api/login', { username: 'locked', password: PASSWORD });
      expect(locked.status).to.equal(429);
      expect(locked.body.error).to.equal('account_locked');
      expect(Number(locked.headers.get('retry-after'))).to.be.within(1, 2);
      // The lockout answers without hashing: a locked account cannot be probed for its password.
      const started = performance.now();
      await api.post('/api/login', { username: 'locked', password: PASSWORD });
      expect(performance.now() - started).to.be.below(500);
      // Another account from the same address is unaffected.
      expect((await api.post('/api/login', { username: 'neighbour', password: PASSWORD })).status).to.equal(200);
      // The lockout cannot follow an injected clock: rate-limiter-flexible's in-memory limiter
      // reads Date.now() and sets its own timers, and takes no clock. So the window is short
      // (LOCKOUT_WINDOW_S=2, from the first failure) and the test polls for its end; a locked
      // login is answered without hashing, so polling costs little.
      await within(5000, 'the lockout ending', async () =>
        (await api.post('/api/login', { username: 'locked', password: PASSWORD })).status === 200, 100);
      expect(performance.now() - firstFailure, 'the lockout lasted its window').to.be.at.least(1900);
    });

    it('applies to unknown usernames too, so lockout reveals nothing', async () => {
      const api = client(kg.url);
      for (let i = 0; i < 3; i++) await api.post('/api/login', { username: 'nobody_here', password: 'wrong password' });
      expect((await api.post('/api/login', { username: 'nobody_here', password: 'wrong password' })).status).to.equal(429);
    });
  });

  describe('per-address limits', () => {
    let kg: TestKeygate;
    beforeEach(async () => {
      kg = await startTestKeygate({ RATE_LIMIT_POINTS: '10', RATE_LIMIT_WINDOW_S: '60', RATE_LIMIT_FAILED_COST: '5', LOCKOUT_ATTEMPTS: '100' });
    });
    afterEach(() => kg.stop());

    it('limits registration, login and refresh per address with 429 and Retry-After', async () => {
      const api = client(kg.url);
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await api.post('/api/refresh', { refreshToken: `rt_${i}` })).status);
      expect(statuses.slice(0, 10).every((s) => s === 401)).to.equal(true);
      const limited = await api.post('/api/users', { username: 'someone', password: PASSWORD });
      expect(limited.status).to.equal(429);
      expect(limited.body.error).to.equal('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
      expect((await api.post('/api/login', { username: 'someone', password: PASSWORD })).status).to.equal(429);
    });

    it('counts failed logins more than successful ones', async () => {
      const api = client(kg.url);
      await api.post('/api/users', { username: 'counted', password: PASSWORD }); // 1 point
      expect((await api.post('/api/login', { username: 'counted', password: 'wrong password' })).status).to.equal(401); // 5 points
      expect((await api.post('/api/login', { username: 'counted', password: PASSWORD })).status).to.equal(200); // 1 point
      expect((await api.post('/api/login', { username: 'counted', password: 'wrong password' })).status).to.equal(401); // 5 points: 12 > 10
      expect((await api.post('/api/login', { username: 'counted', password: PASSWORD })).status).to.equal(429);
    });

    it('limits websocket handshakes per address too', async () => {
      for (let i = 0; i < 10; i++) await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl);
      const err = await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LoginError);
      expect((err as LoginError).message).to.match(/^Too many requests from this address; retry in \d+ s\.$/);
    });

    it('honours X-Forwarded-For only with TRUST_PROXY', async () => {
      const api = client(kg.url);
      for (let i = 0; i < 10; i++) await api.post('/api/refresh', { refreshToken: 'rt_x' }, { headers: { 'x-forwarded-for': `10.0.0.${i}` } });
      // Untrusted: every request counted against 127.0.0.1.
      expect((await api.post('/api/refresh', { refreshToken: 'rt_x' }, { headers: { 'x-forwarded-for': '10.0.1.1' } })).status).to.equal(429);

      const proxied = await startTestKeygate({ RATE_LIMIT_POINTS: '10', TRUST_PROXY: 'true' });
      try {
        const p = client(proxied.url);
        for (let i = 0; i < 10; i++) await p.post('/api/refresh', { refreshToken: 'rt_x' }, { headers: { 'x-forwarded-for': '10.0.0.1' } });
        expect((await p.post('/api/refresh', { refreshToken: 'rt_x' }, { headers: { 'x-forwarded-for': '10.0.0.1' } })).status).to.equal(429);
        expect((await p.post('/api/refresh', { refreshToken: 'rt_x' }, { headers: { 'x-forwarded-for': '10.0.0.2' } })).status).to.equal(401);
      } finally {
        await proxied.stop();
      }
    });
  });

  it('RATE_LIMITS=off turns the per-address limits off but keeps the lockout', async () => {
    const kg = await startTestKeygate({ RATE_LIMITS: 'off', RATE_LIMIT_POINTS: '2', LOCKOUT_ATTEMPTS: '2' });
    try {
      const api = client(kg.url);
      for (let i = 0; i < 5; i++) expect((await api.post('/api/refresh', { refreshToken: 'rt_x' })).status).to.equal(401);
      for (let i = 0; i < 2; i++) await api.post('/api/login', { username: 'lockme', password: 'wrong password' });
      expect((await api.post('/api/login', { username: 'lockme', password: 'wrong password' })).status).to.equal(429);
    } finally {
      await kg.stop();
    }
  });

  describe('request bodies', () => {
    let kg: TestKeygate;
    before(async () => {
      kg = await startTestKeygate({ RATE_LIMITS: 'off' });
    });
    after(() => kg.stop());

    it('answers bodies over BODY_LIMIT_BYTES with 413', async () => {
      const res = await client(kg.url).post('/api/login', { username: 'x', password: 'p'.repeat(17 * 1024) });
      expect(res.status).to.equal(413);
      expect(res.body).to.deep.equal({ error: 'payload_too_large', message: 'The request body is larger than 16384 bytes.' });
    });

    it('never answers bad input with a 5xx', async () => {
      const api = client(kg.url);
      const bodies = ['', 'null', '[]', '"str"', '42', '{"username":{},"password":[]}', '{"refreshToken":null}', '{"token":{"a":1}}', '\u0000', '{"__proto__":{"x":1}}'];
      for (const path of ['/api/users', '/api/login', '/api/refresh', '/api/introspect', '/api/logout']) {
        for (const raw of bodies) {
          const res = await api.post(path, undefined, { raw, headers: { 'content-type': 'application/json' } });
          expect(res.status, `${path} ${JSON.stringify(raw)}`).to.be.within(400, 499);
          expect(res.body.error, `${path} ${JSON.stringify(raw)}`).to.be.a('string');
        }
      }
    });
  });

  describe('concurrent password hashing', () => {
    it('caps hashes at HASH_CONCURRENCY; past HASH_QUEUE_MAX a login gets 503 with Retry-After', async () => {
      const kg = await startTestKeygate({ RATE_LIMITS: 'off', HASH_CONCURRENCY: '1', HASH_QUEUE_MAX: '2' });
      try {
        const api = client(kg.url);
        let peak = 0;
        const watch = setInterval(() => (peak = Math.max(peak, kg.core.hasher.pool.stats.running)), 1);
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => api.post('/api/login', { username: `storm${i}`, password: PASSWORD })));
        clearInterval(watch);
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => s === 401).length).to.be.at.least(3);
        const busy = results.filter((r) => r.status === 503);
        expect(busy.length).to.be.at.least(1);
        expect(busy[0]!.body).to.deep.equal({ error: 'server_busy', message: 'Too many logins in progress; try again shortly.' });
        expect(busy[0]!.headers.get('retry-after')).to.equal('1');
        expect(peak).to.equal(1);
      } finally {
        await kg.stop();
      }
    });
  });
});
