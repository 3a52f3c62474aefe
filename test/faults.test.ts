/**
 * Faults (issue 9, item 5): PostgreSQL or Redis down or restarting, an instance killed.
 * Requests that need a store fail fast with 503 store_unavailable, never hang, never 500,
 * never issue a token without their checks; every instance recovers by itself; nothing
 * acknowledged is lost.
 */
import { expect } from 'chai';
import { within } from './helpers/poll.js';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { ownPostgres, ownRedis, requireEngine, type Engine } from './helpers/engines.js';
import { TEST_API_KEY, TEST_API_SECRET, TEST_SECRETS, tempDir } from './helpers/keygate.js';
import { basic, bearer, client, type ApiClient } from './helpers/http.js';
import { spawnKeygate, type KeygateProcess } from './helpers/process.js';

const PASSWORD = 'correct horse battery';

const until = (ms: number, what: string, check: () => Promise<boolean>) => within(ms, what, check, 100);

describe('faults: PostgreSQL and Redis down, instances killed', function () {
  this.timeout(180_000);
  let db: Engine;
  let cache: Engine;
  let env: Record<string, string>;
  let a: KeygateProcess;
  let b: KeygateProcess;
  before(async function () {
    db = await requireEngine(this, ownPostgres);
    cache = await requireEngine(this, ownRedis);
    env = {
      ...TEST_SECRETS,
      DATA_DIR: tempDir(),
      DATABASE_URL: db.url,
      REDIS_URL: cache.url,
      RATE_LIMITS: 'off',
      ARGON2_MEMORY_KIB: '4096',
      ARGON2_TIME_COST: '1',
      STORE_TIMEOUT_MS: '1500',
      LOG_LEVEL: 'info',
    };
    [a, b] = await Promise.all([spawnKeygate(env), spawnKeygate(env)]);
  });
  after(async () => {
    for (const p of [a, b]) p?.child.kill('SIGKILL');
    await Promise.all([db?.remove(), cache?.remove()]);
  });

  const introspect = (api: ApiClient, token: string) => api.post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) });

  it('keeps every acknowledged registration and revocation through kill -9 of an instance and a restart of PostgreSQL', async () => {
    const api = client(a.url);
    const names = Array.from({ length: 20 }, (_, i) => `durable_${i}`);
    for (const username of names) expect((await api.post('/api/users', { username, password: PASSWORD })).status).to.equal(201);
    const token = (await api.post('/api/login', { username: names[0], password: PASSWORD })).body.userAuth.token as string;
    const keypair = (await keypairLogin(PrivateKey.fromRandom(), a.wsUrl)).token!;
    for (const t of [token, keypair]) expect((await api.post('/api/logout', undefined, { headers: bearer(t) })).status).to.equal(204);

    a.child.kill('SIGKILL');
    await a.exited;
    await db.stop('immediate');
    await db.start();
    a = await spawnKeygate(env);

    for (const instance of [a, b]) {
      const other = client(instance.url);
      await until(5000, 'recovery', async () => (await other.get('/healthz')).status === 200);
      for (const username of names) expect((await other.post('/api/login', { username, password: PASSWORD })).status, username).to.equal(200);
      for (const t of [token, keypair]) expect((await introspect(other, t)).body).to.deep.equal({ active: false });
    }
  });

  it('answers 503 store_unavailable within 2 s while PostgreSQL is down, then recovers without a restart', async () => {
    const api = client(b.url);
    await api.post('/api/users', { username: 'while_down', password: PASSWORD });
    const live = (await api.post('/api/login', { username: 'while_down', password: PASSWORD })).body.userAuth.token as string;
    await db.stop('immediate');
    try {
      const requests: Array<[string, () => Promise<{ status: number; body: { error?: string }; headers: Headers }>]> = [
        ['login', () => api.post('/api/login', { username: 'while_down', password: PASSWORD })],
        ['register', () => api.post('/api/users', { username: 'lost_user', password: PASSWORD })],
        ['introspect', () => introspect(api, live)],
        ['reissue', () => api.get('/api/userauth', { headers: bearer(live) })],
        ['refresh', () => api.post('/api/refresh', { refreshToken: 'rt_anything' })],
      ];
      for (const [name, request] of requests) {
        const started = performance.now();
        const res = await request();
        expect(performance.now() - started, name).to.be.below(2000);
        expect(res.status, name).to.equal(503);
        expect(res.body.error, name).to.equal('store_unavailable');
        expect(res.headers.get('retry-after'), name).to.equal('2');
      }
      const health = await api.get('/healthz');
      expect(health.status).to.equal(503);
      expect(health.body).to.deep.equal({ status: 'unavailable', records: 'unavailable', state: 'ok' });
    } finally {
      await db.start();
    }
    await until(5000, 'recovery', async () => (await api.get('/healthz')).status === 200);
    expect((await api.post('/api/login', { username: 'while_down', password: PASSWORD })).status).to.equal(200);
    expect((await introspect(api, live)).body.active).to.equal(true);
    const log = b.output();
    expect(log).not.to.match(/"level":50/);
  });

  it('keeps logging in while Redis is away (limits count per instance), reports it, and recovers', async () => {
    const api = client(a.url);
    await api.post('/api/users', { username: 'no_redis', password: PASSWORD });
    await cache.stop();
    try {
      const health = await api.get('/healthz');
      expect(health.status).to.equal(200);
      expect(health.body).to.deep.equal({ status: 'degraded', records: 'ok', state: 'unavailable' });
      const started = performance.now();
      expect((await api.post('/api/login', { username: 'no_redis', password: PASSWORD })).status).to.equal(200);
      expect(performance.now() - started).to.be.below(2000);
      expect((await keypairLogin(PrivateKey.fromRandom(), a.wsUrl)).token).to.be.a('string');
    } finally {
      await cache.start();
    }
    await until(5000, 'Redis back', async () => (await api.get('/healthz')).body.state === 'ok');
  });
});
