/**
 * Several keygate processes on one PostgreSQL and one Redis behave as one server (issue 9,
 * item 4). Real processes, real engines; every "within 1 second" is polled, never slept.
 */
import { expect } from 'chai';
import { within } from './helpers/poll.js';
import { POSTGRES_MIGRATIONS } from '../src/store/postgres-schema.js';
import { decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { freshDatabase, postgres, redis, requireEngine } from './helpers/engines.js';
import { TEST_API_KEY, TEST_API_SECRET, TEST_SECRETS, tempDir } from './helpers/keygate.js';
import { runCli } from './helpers/cli.js';
import { basic, bearer, client, type ApiClient } from './helpers/http.js';
import { spawnKeygate, type KeygateProcess } from './helpers/process.js';

const PASSWORD = 'correct horse battery';


describe('several instances on PostgreSQL + Redis', function () {
  this.timeout(120_000);
  let env: Record<string, string>;
  let instances: KeygateProcess[] = [];
  let a: ApiClient;
  let b: ApiClient;
  let c: ApiClient;
  let seq = 0;
  /** A client address of its own for each test, through the trusted proxy header. */
  const from = () => ({ 'x-forwarded-for': `10.7.${Math.floor(++seq / 250)}.${seq % 250}` });

  before(async function () {
    const [pgEngine, redisEngine] = await Promise.all([requireEngine(this, postgres), requireEngine(this, redis)]);
    void pgEngine;
    env = {
      ...TEST_SECRETS,
      DATA_DIR: tempDir(),
      DATABASE_URL: await freshDatabase('multi'),
      REDIS_URL: redisEngine.url,
      REDIS_PREFIX: `multi${Date.now().toString(36)}:`,
      TRUST_PROXY: 'true',
      RATE_LIMIT_POINTS: '40',
      LOCKOUT_ATTEMPTS: '10',
      REFRESH_REUSE_INTERVAL_MS: '0',
      // Rotations must reach every instance by message, not by this slow poll.
      KEY_RELOAD_MS: '600000',
      ARGON2_MEMORY_KIB: '4096',
      ARGON2_TIME_COST: '1',
      HASH_QUEUE_MAX: '200',
      LOG_LEVEL: 'info',
      LOGIN_REDIRECT_ORIGINS: 'https://app.example',
    };
    // Three instances start at the same moment on an empty database.
    instances = await Promise.all([1, 2, 3].map(() => spawnKeygate(env)));
    [a, b, c] = instances.map((i) => client(i.url)) as [ApiClient, ApiClient, ApiClient];
  });
  after(async () => {
    for (const i of instances) i.child.kill('SIGTERM');
    await Promise.all(instances.map((i) => i.exited));
  });

  const introspect = async (api: ApiClient, token: string) =>
    (await api.post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body.active as boolean;

  it('all come up on one schema with exactly one signing key, and publish the same JWKS', async () => {
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    try {
      expect((await db.query('SELECT version FROM keygate_migrations')).rows).to.have.length(POSTGRES_MIGRATIONS.length);
      expect((await db.query('SELECT kid FROM signing_keys WHERE retired_at IS NULL')).rows).to.have.length(1);
    } finally {
      await db.end();
    }
    const sets = await Promise.all(instances.map(async (i) => (await client(i.url).get('/.well-known/jwks.json')).body));
    expect(sets[1]).to.deep.equal(sets[0]);
    expect(sets[2]).to.deep.equal(sets[0]);
    expect(sets[0].keys).to.have.length(1);
  });

  it('lets a user registered on A log in on B', async () => {
    const headers = from();
    expect((await a.post('/api/users', { username: 'multi_alice', password: PASSWORD }, { headers })).status).to.equal(201);
    const login = await b.post('/api/login', { username: 'multi_alice', password: PASSWORD }, { headers });
    expect(login.status).to.equal(200);
    expect(await introspect(c, login.body.userAuth.token as string)).to.equal(true);
    expect((await c.get('/healthz')).body).to.deep.equal({ status: 'ok', records: 'ok', state: 'ok' });
  });

  it('refuses on B within 1 s a token revoked through A: logout, tokens revoke, users disable', async () => {
    const headers = from();
    await a.post('/api/users', { username: 'multi_bob', password: PASSWORD }, { headers });
    const login = async () => (await a.post('/api/login', { username: 'multi_bob', password: PASSWORD }, { headers })).body.userAuth.token as string;
    const dead = (token: string) => async () =>
      !(await introspect(b, token)) && (await b.get('/api/userauth', { headers: { ...headers, ...bearer(token) } })).status === 401;

    const loggedOut = await login();
    expect(await introspect(b, loggedOut)).to.equal(true);
    expect((await a.post('/api/logout', undefined, { headers: { ...headers, ...bearer(loggedOut) } })).status).to.equal(204);
    await within(1000, 'logout on A seen on B', dead(loggedOut));

    const keypair = (await keypairLogin(PrivateKey.fromRandom(), instances[0]!.wsUrl)).token!;
    expect((await runCli(env, ['tokens', 'revoke', keypair])).code).to.equal(0);
    await within(1000, 'tokens revoke seen on B', dead(keypair));

    const disabled = await login();
    expect((await runCli(env, ['users', 'disable', 'multi_bob'])).code).to.equal(0);
    await within(1000, 'users disable seen on B', dead(disabled));
  });

  it('counts the lockout and the address limit across instances', async () => {
    const headers = from();
    await a.post('/api/users', { username: 'multi_carol', password: PASSWORD }, { headers });
    for (let i = 0; i < 10; i++) {
      const res = await (i % 2 ? a : b).post('/api/login', { username: 'multi_carol', password: `wrong ${i}` }, { headers: from() });
      expect(res.status).to.equal(401);
    }
    for (const api of [a, b, c]) {
      const res = await api.post('/api/login', { username: 'multi_carol', password: PASSWORD }, { headers: from() });
      expect(res.status).to.equal(429);
      expect(res.body.error).to.equal('account_locked');
    }
    const one = from();
    const statuses: number[] = [];
    for (let i = 0; i < 41; i++) statuses.push((await [a, b, c][i % 3]!.post('/api/refresh', { refreshToken: 'rt_unknown' }, { headers: one })).status);
    expect(statuses.slice(0, 40).every((s) => s === 401)).to.equal(true);
    expect(statuses[40]).to.equal(429);
  });

  it('exchanges on B a refresh token issued by A; reuse on A ends that login everywhere', async () => {
    const headers = from();
    await a.post('/api/users', { username: 'multi_dave', password: PASSWORD }, { headers });
    const login = (await a.post('/api/login', { username: 'multi_dave', password: PASSWORD }, { headers })).body;
    const next = await b.post('/api/refresh', { refreshToken: login.refreshToken }, { headers });
    expect(next.status).to.equal(200);
    const reuse = await a.post('/api/refresh', { refreshToken: login.refreshToken }, { headers });
    expect(reuse.status).to.equal(401);
    for (const api of [a, b, c]) expect(await introspect(api, next.body.userAuth.token as string)).to.equal(false);
    expect((await c.post('/api/refresh', { refreshToken: next.body.refreshToken }, { headers })).status).to.equal(401);
  });

  it('lets exactly one of 50 concurrent refreshes of one token, spread over the instances, succeed', async () => {
    const headers = from();
    await a.post('/api/users', { username: 'multi_erin', password: PASSWORD }, { headers });
    const { refreshToken } = (await b.post('/api/login', { username: 'multi_erin', password: PASSWORD }, { headers })).body;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => [a, b, c][i % 3]!.post('/api/refresh', { refreshToken }, { headers: from() })));
    expect(results.filter((r) => r.status === 200)).to.have.length(1);
    expect(results.filter((r) => r.status === 401)).to.have.length(49);
  });

  it('redeems an HTTP challenge issued by A on any instance, exactly once of 30 answers spread over all three', async () => {
    const identity = PrivateKey.fromRandom();
    const headers = { 'x-forwarded-for': '10.7.0.1' };
    const issued = await a.post('/api/challenges', { pubkey: identity.public.toString() }, { headers });
    expect(issued.status).to.equal(201);
    const sig = Array.from(await identity.sign(Uint8Array.from(issued.body.value.data as number[])));
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      [a, b, c][i % 3]!.post(`/api/challenges/${issued.body.id}`, { sig: { type: 'Buffer', data: sig } }, { headers })));
    expect(replies.filter((r) => r.status === 200)).to.have.length(1);
    expect(replies.filter((r) => r.status === 400 && r.body.error === 'no_challenge')).to.have.length(29);
    const token = replies.find((r) => r.status === 200)!.body.token as string;
    expect(await introspect(c, token)).to.equal(true);
    // And the capitalised websocket path on another instance.
    const auth = await keypairLogin(identity, `${instances[1]!.wsUrl}/ws/userAuth`);
    expect(await introspect(a, auth.token!)).to.equal(true);
  });

  it('refuses a key disabled through A at the next handshake on B, before any challenge', async () => {
    const identity = PrivateKey.fromRandom();
    const pubkey = identity.public.toString();
    await keypairLogin(identity, instances[1]!.wsUrl); // B remembers the key's account
    expect((await a.request('PATCH', `/api/accounts/${pubkey}`, { disabled: true }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).status).to.equal(200);
    await within(1000, 'B refusing the disabled key', async () =>
      (await keypairLogin(identity, instances[1]!.wsUrl).then(() => '', (e: Error) => e.message)) === 'This identity is disabled.');
  });

  it('runs a login request across instances: created on A, completed on B, exactly one first read of 30 spread over all three', async () => {
    const api = basic(TEST_API_KEY, TEST_API_SECRET);
    const created = await a.post('/api/login-requests', { postLoginURL: 'https://app.example/back?t={token}', requiredRoles: ['member'], returnTo: '/x' }, { headers: api });
    expect(created.status).to.equal(201);
    const { token } = created.body;
    const identity = PrivateKey.fromRandom();
    await a.post('/api/accounts', { id: identity.public.toString(), roles: ['member'] }, { headers: api });
    const auth = await keypairLogin(identity, instances[2]!.wsUrl);
    const pageId = new URL(created.body.loginUrl as string).searchParams.get('loginRequest')!;
    const completions = await Promise.all([b, c, a, b].map((api2) => api2.post(`/api/login-requests/${pageId}/complete`, undefined, { headers: bearer(auth.token!) })));
    expect(completions.map((r) => r.status).sort()).to.deep.equal([200, 409, 409, 409]);
    const reads = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      [a, b, c][i % 3]!.get(`/api/login-requests/${token}?allowDuplicateRequest=true`, { headers: api })));
    expect(reads.every((r) => r.status === 200)).to.equal(true);
    expect(reads.filter((r) => r.body.isDuplicateRequest === false)).to.have.length(1);
    expect(reads[0]!.body).to.include({ userId: identity.public.toString() });
    expect(reads[0]!.body.request).to.include({ returnTo: '/x' });
    expect((await c.get(`/api/login-requests/${token}`, { headers: api })).status).to.equal(410);
  });

  it('signs with the new key on every instance within 1 s of `keys rotate` from the CLI', async () => {
    // One live token per instance; reissuing it shows which key that instance signs with.
    const tokens = await Promise.all(instances.map(async (i) => (await keypairLogin(PrivateKey.fromRandom(), i.wsUrl)).token!));
    const rotate = await runCli(env, ['keys', 'rotate']);
    expect(rotate.code, rotate.stderr).to.equal(0);
    const kid = /^new signing key (\S+);/.exec(rotate.stdout)?.[1];
    const took = await Promise.all(instances.map((instance, n) => within(1000, `the new kid on ${instance.url}`, async () => {
      const res = await client(instance.url).get('/api/userauth', { headers: { ...from(), ...bearer(tokens[n]!) } });
      return decodeProtectedHeader(res.body.token as string).kid === kid;
    })));
    expect(took.every((ms) => ms < 1000)).to.equal(true);
    const sets = await Promise.all(instances.map(async (i) => (await client(i.url).get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid)));
    for (const set of sets) expect(set[0]).to.equal(kid);
  });
});
