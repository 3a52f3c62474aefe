/**
 * Issue 11 item 1: hosted login requests with single-use results and required roles (the
 * API; test/e2e/login-request.test.ts runs the whole flow in Chromium).
 */
import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import { KeygateAdmin, KeygateError } from '../src/client/admin.js';
import { login as keypairLogin } from '../src/client/index.js';
import { LoginRequests, meetsRoles, validatePostLoginUrl } from '../src/core/login-requests.js';
import type { AccountService } from '../src/core/accounts.js';
import { createEmitter } from '../src/core/events.js';
import { AuthError } from '../src/errors.js';
import { MemoryStateStore } from '../src/store/memory-state.js';
import type { AccountRecord } from '../src/store/records.js';
import { freshDatabase, postgres, redis, requireEngine } from './helpers/engines.js';
import { basic, bearer, client, type ApiClient } from './helpers/http.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TestClock, type TestKeygate } from './helpers/keygate.js';

const API = basic(TEST_API_KEY, TEST_API_SECRET);
const APP = 'https://app.example';
const PASSWORD = 'correct horse battery staple';

/** Where the suite runs: one instance on SQLite, or two on one PostgreSQL and one Redis (sharing the injected clock). */
const SETUPS = [
  { name: 'one instance on SQLite', instances: 1, env: async () => ({}) },
  {
    name: 'two instances on PostgreSQL + Redis',
    instances: 2,
    env: async (): Promise<Record<string, string>> => ({ DATABASE_URL: await freshDatabase('lr'), REDIS_URL: (await redis()).url, REDIS_PREFIX: `lr${Date.now().toString(36)}:` }),
  },
];

for (const setup of SETUPS) describe(`login requests (${setup.name})`, function () {
  this.timeout(30_000);
  let servers: TestKeygate[] = [];
  /** The first instance: where requests are created and read. */
  let kg: TestKeygate;
  let api: ApiClient;
  /** The last instance: where the page completes them (the same one when there is one). */
  let other: ApiClient;
  let admin: KeygateAdmin;
  const clock = new TestClock();
  const tokens: Record<string, string> = {};

  before(async function () {
    if (setup.instances > 1) {
      await requireEngine(this, postgres);
      await requireEngine(this, redis);
    }
    const env = { RATE_LIMITS: 'off', LOGIN_REDIRECT_ORIGINS: `${APP},http://127.0.0.1:9`, ...(await setup.env()) };
    for (let i = 0; i < setup.instances; i++) servers.push(await startTestKeygate(env, undefined, { now: clock.now }));
    kg = servers[0]!;
    api = client(kg.url);
    other = client(servers[servers.length - 1]!.url);
    admin = new KeygateAdmin({ url: kg.url, apiKey: TEST_API_KEY, apiSecret: TEST_API_SECRET });
    for (const [name, roles] of [['plain_user', []], ['reports_user', ['reports']], ['both_user', ['reports', 'billing']], ['root_user', ['superuser']]] as const) {
      await kg.core.users.register(name, PASSWORD, [...roles]);
      tokens[name] = (await api.post('/api/login', { username: name, password: PASSWORD })).body.userAuth.token;
    }
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    servers = [];
  });

  /** The page id of a request: what loginUrl carries (never the token). */
  const pageOf = (request: { loginUrl: string }) => new URL(request.loginUrl).searchParams.get('loginRequest')!;
  /** A login made now, as on the page after the request was made. */
  const loginNow = async (user: string) => (await api.post('/api/login', { username: user, password: PASSWORD })).body.userAuth.token as string;
  const complete = async (request: { loginUrl: string }, user: string) =>
    other.post(`/api/login-requests/${pageOf(request)}/complete`, undefined, { headers: bearer(await loginNow(user)) });

  it('creates a request (201 {loginUrl, token, expiresAt}); the user completes it; the app reads the details once', async () => {
    const created = await api.post('/api/login-requests', { postLoginURL: `${APP}/back?t={token}`, returnTo: '/reports', note: { n: 1 } }, { headers: API });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const { token, loginUrl, expiresAt } = created.body;
    expect(token).to.match(/^[\w-]{43}$/);
    expect(loginUrl).to.equal(`${kg.url}/?loginRequest=${pageOf(created.body)}`);
    expect(Date.parse(expiresAt) - clock.ms).to.equal(600_000);

    expect(pageOf(created.body), 'loginUrl carries a page id, not the token').to.match(/^[\w-]{43}$/).and.not.equal(token);
    expect((await api.get(`/api/login-requests/${token}/info`)).status, 'the token is no page id').to.equal(404);
    const info = await api.get(`/api/login-requests/${pageOf(created.body)}/info`);
    expect(info.body).to.include({ origin: APP, requireAllRoles: false });

    const pending = await api.get(`/api/login-requests/${token}`, { headers: API });
    expect([pending.status, pending.body.error]).to.deep.equal([409, 'login_pending']);

    const done = await complete(created.body, 'reports_user');
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    expect(done.body).to.deep.equal({ redirect: `${APP}/back?t=${token}` });
    const again = await complete(created.body, 'reports_user');
    expect([again.status, again.body.error]).to.deep.equal([409, 'already_completed']);

    const details = await api.get(`/api/login-requests/${token}`, { headers: API });
    expect(details.status).to.equal(200);
    const user = await kg.core.store.getAccountByUsername('reports_user');
    expect(details.body).to.deep.equal({
      userId: user!.id, username: 'reports_user', publicKeys: [], roles: ['reports'], superUser: false, isDuplicateRequest: false,
      request: { postLoginURL: `${APP}/back?t={token}`, requiredRoles: [], requireAllRoles: false, returnTo: '/reports', note: { n: 1 } },
    });
    const second = await api.get(`/api/login-requests/${token}`, { headers: API });
    expect([second.status, second.body.error]).to.deep.equal([410, 'already_read']);
    const allowed = await api.get(`/api/login-requests/${token}?allowDuplicateRequest=true`, { headers: API });
    expect(allowed.body).to.include({ userId: user!.id, isDuplicateRequest: true });
    expect((await api.get(`/api/login-requests/${token}?allowDuplicateRequest=yes`, { headers: API })).status).to.equal(400);
  });

  it('requires the API pair to create and to read, and a login\'s Bearer token to complete', async () => {
    expect((await api.post('/api/login-requests', { postLoginURL: `${APP}/{token}` })).status).to.equal(401);
    const request = await admin.requestLogin({ postLoginURL: `${APP}/{token}` });
    const { token } = request;
    expect((await api.get(`/api/login-requests/${token}`)).status).to.equal(401);
    expect((await api.post(`/api/login-requests/${pageOf(request)}/complete`)).status).to.equal(401);
    expect((await api.post(`/api/login-requests/${pageOf(request)}/complete`, undefined, { headers: bearer('nope') })).status).to.equal(401);
    expect((await api.post(`/api/login-requests/${token}/complete`, undefined, { headers: bearer(tokens.plain_user!) })).status, 'the token completes nothing').to.equal(404);
    const provisioned = (await api.post('/api/provision', { user: 'lr-app-user' }, { headers: API })).body.token;
    expect((await api.post(`/api/login-requests/${pageOf(request)}/complete`, undefined, { headers: bearer(provisioned) })).status, 'not a login').to.equal(403);
  });

  it('completes only with a login made for the request, not with a token (or a reissued copy) of an earlier login', async () => {
    clock.advance(2000); // the login of `tokens` is 2 s older than the request
    const request = await admin.requestLogin({ postLoginURL: `${APP}/{token}` });
    const copy = (await api.get('/api/userauth', { headers: bearer(tokens.plain_user!) })).body.token as string;
    const identity = PrivateKey.fromRandom();
    clock.advance(-2000);
    const oldKeyLogin = (await keypairLogin(identity, kg.wsUrl)).token!;
    clock.advance(2000);
    const keyCopy = (await api.get('/api/userauth', { headers: bearer(oldKeyLogin) })).body.token as string;
    for (const old of [tokens.plain_user!, copy, oldKeyLogin, keyCopy]) {
      const refused = await other.post(`/api/login-requests/${pageOf(request)}/complete`, undefined, { headers: bearer(old) });
      expect([refused.status, refused.body.error]).to.deep.equal([403, 'forbidden']);
    }
    expect((await complete(request, 'plain_user')).status).to.equal(200);

    // A password login's start is known to the millisecond: one made 500 ms before the request is older.
    const justBefore = await loginNow('plain_user');
    clock.advance(500);
    const next = await admin.requestLogin({ postLoginURL: `${APP}/{token}` });
    const early = await other.post(`/api/login-requests/${pageOf(next)}/complete`, undefined, { headers: bearer(justBefore) });
    expect([early.status, early.body.error]).to.deep.equal([403, 'forbidden']);
  });

  it('checks required roles: any of them by default, all with requireAllRoles, and superuser passes every requirement', async () => {
    const any = await admin.requestLogin({ postLoginURL: `${APP}/{token}`, requiredRoles: ['reports', 'billing'] });
    const refused = await complete(any, 'plain_user');
    expect([refused.status, refused.body.error]).to.deep.equal([403, 'roles_missing']);
    expect(refused.body.message).to.equal('This app requires one of the roles: reports, billing.');
    expect((await complete(any, 'reports_user')).status, 'a refusal does not spend the request').to.equal(200);

    const all = await admin.requestLogin({ postLoginURL: `${APP}/{token}`, requiredRoles: ['reports', 'billing'], requireAllRoles: true });
    expect((await complete(all, 'reports_user')).body.error).to.equal('roles_missing');
    expect((await complete(all, 'both_user')).status).to.equal(200);

    const root = await admin.requestLogin({ postLoginURL: `${APP}/{token}`, requiredRoles: ['anything'], requireAllRoles: true });
    expect((await complete(root, 'root_user')).status).to.equal(200);
    expect((await admin.getLoginDetails(root.token)).superUser).to.equal(true);

    expect(meetsRoles([], [], true)).to.equal(true);
    expect(meetsRoles(['a'], ['a', 'b'], false)).to.equal(true);
    expect(meetsRoles(['a'], ['a', 'b'], true)).to.equal(false);
  });

  it('answers with the account as it is now: one stripped of the required roles, disabled or deleted since is refused, its details left unread', async () => {
    await kg.core.users.register('fading_user', PASSWORD, ['reports', 'billing']);
    const id = (await kg.core.store.getAccountByUsername('fading_user'))!.id;
    const request = await admin.requestLogin({ postLoginURL: `${APP}/{token}`, requiredRoles: ['reports'] });
    expect((await complete(request, 'fading_user')).status).to.equal(200);
    const read = () => api.get(`/api/login-requests/${request.token}?allowDuplicateRequest=true`, { headers: API });

    await admin.updateAccount(id, { roles: ['billing'] });
    const stripped = await read();
    expect([stripped.status, stripped.body.error]).to.deep.equal([403, 'roles_missing']);
    await admin.updateAccount(id, { roles: ['reports'] });
    const now = await read();
    expect(now.body, 'the first read that answers, with the roles of now').to.include({ userId: id, isDuplicateRequest: false, superUser: false });
    expect(now.body.roles).to.deep.equal(['reports']);

    await admin.updateAccount(id, { disabled: true });
    const disabled = await read();
    expect([disabled.status, disabled.body.error]).to.deep.equal([403, 'account_disabled']);
    await admin.deleteAccount(id);
    const deleted = await read();
    expect([deleted.status, deleted.body.error]).to.deep.equal([404, 'not_found']);
  });

  it('expires a request after LOGIN_REQUEST_TTL on the injected clock; completed details stay readable for that long after completion', async () => {
    const stale = await admin.requestLogin({ postLoginURL: `${APP}/{token}` });
    const kept = await admin.requestLogin({ postLoginURL: `${APP}/{token}` });
    clock.advance(599_000);
    expect((await complete(kept, 'plain_user')).status).to.equal(200);
    clock.advance(1_001);
    const late = await complete(stale, 'plain_user');
    expect([late.status, late.body.error]).to.deep.equal([404, 'not_found']);
    expect((await api.get(`/api/login-requests/${stale.token}`, { headers: API })).status).to.equal(404);
    expect((await api.get(`/api/login-requests/${pageOf(stale)}/info`)).status).to.equal(404);
    expect((await admin.getLoginDetails(kept.token)).isDuplicateRequest).to.equal(false);
    clock.advance(600_000);
    const gone = await admin.getLoginDetails(kept.token, { allowDuplicateRequest: true }).catch((e: unknown) => e);
    expect(gone).to.be.instanceOf(KeygateError);
    expect(gone).to.include({ status: 404 });
  });

  it('refuses open redirects: another origin, javascript:, no {token}, userinfo tricks, {token} in the host', async () => {
    const attempts = [
      'https://evil.example/{token}', 'javascript:alert(1)//{token}', `${APP}/back`, 'https://allowed.example@evil.example/{token}',
      `https://app.example@evil.example/{token}`, `https://user:pw@app.example/{token}`, 'https://{token}.app.example/', `https://app.example{token}/`,
      `//app.example/{token}`, '/relative/{token}', `${APP.replace('https', 'http')}/{token}`, 'data:text/html,{token}', `${APP}:8443/{token}`,
      `${APP}/${'x'.repeat(2048)}{token}`, '', 42, null,
    ];
    for (const postLoginURL of attempts) {
      const reply = await api.post('/api/login-requests', { postLoginURL }, { headers: API });
      expect([reply.status, reply.body.error], String(postLoginURL).slice(0, 80)).to.deep.equal([400, 'invalid_request']);
    }
    expect(() => validatePostLoginUrl(`${APP}/{token}`, [])).to.throw(/set LOGIN_REDIRECT_ORIGINS/);
    for (const ok of [`${APP}/back?t={token}`, `${APP}/#{token}`, `${APP}/{token}/x?y={token}`, 'http://127.0.0.1:9/cb/{token}']) {
      expect((await api.post('/api/login-requests', { postLoginURL: ok }, { headers: API })).status, ok).to.equal(201);
    }
  });

  it('refuses bad roles, a non-boolean requireAllRoles and extra fields over LOGIN_REQUEST_EXTRA_MAX', async () => {
    for (const body of [{ requiredRoles: 'admin' }, { requiredRoles: ['has space'] }, { requireAllRoles: 'yes' }, { blob: 'x'.repeat(4097) }]) {
      const reply = await api.post('/api/login-requests', { postLoginURL: `${APP}/{token}`, ...body }, { headers: API });
      expect([reply.status, reply.body.error], JSON.stringify(body).slice(0, 60)).to.deep.equal([400, 'invalid_request']);
    }
    expect((await api.post('/api/login-requests', { postLoginURL: `${APP}/{token}`, blob: 'x'.repeat(4000) }, { headers: API })).status).to.equal(201);
    for (const token of ['short', 'x'.repeat(43).replace(/x/g, '!')]) {
      expect((await api.get(`/api/login-requests/${encodeURIComponent(token)}`, { headers: API })).status).to.equal(404);
    }
  });

  it('gives exactly one of 20 concurrent first reads isDuplicateRequest: false, and one of 10 completions the redirect', async () => {
    const request = await admin.requestLogin({ postLoginURL: `${APP}/{token}` });
    const { token } = request;
    const completions = await Promise.all(Array.from({ length: 10 }, () => complete(request, 'plain_user')));
    expect(completions.filter((r) => r.status === 200)).to.have.length(1);
    expect(completions.filter((r) => r.status === 409)).to.have.length(9);
    const reads = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : api).get(`/api/login-requests/${token}?allowDuplicateRequest=true`, { headers: API })));
    expect(reads.map((r) => r.body.isDuplicateRequest).filter((d) => d === false)).to.have.length(1);
  });

  it('completes with a keypair login too: the details carry the key', async () => {
    const identity = PrivateKey.fromRandom();
    const auth = await keypairLogin(identity, kg.wsUrl);
    const request = await admin.requestLogin({ postLoginURL: `${APP}/{token}` });
    const { token } = request;
    expect((await other.post(`/api/login-requests/${pageOf(request)}/complete`, undefined, { headers: bearer(auth.token!) })).status).to.equal(200);
    const details = await admin.getLoginDetails(token);
    expect(details).to.include({ userId: identity.public.toString(), username: null });
    expect(details.publicKeys).to.deep.equal([identity.public.toString()]);
  });
});

describe('login requests across instances whose clocks differ', () => {
  it('gives one first read even when the reading instance\'s clock is ahead of the completing one\'s', async () => {
    let t = Date.now();
    const state = new MemoryStateStore(() => t);
    const account: AccountRecord = { id: 'skewed', username: 'skewed', passwordHash: null, publicKeys: [], roles: [], disabled: false, createdAt: t, lastLoginAt: null };
    const accounts = { ofToken: async () => account, find: async () => account } as unknown as AccountService;
    const instance = (skewMs: number) => new LoginRequests({ state, accounts, events: createEmitter(), redirectOrigins: [APP], ttlMs: 10_000, now: () => t + skewMs });
    const [a, b] = [instance(0), instance(4000)];
    const { token, pageId } = await a.create({ postLoginURL: `${APP}/{token}` });
    await a.complete(pageId, 'a login');
    expect((await b.details(token, false)).isDuplicateRequest).to.equal(false);
    t += 7000; // past completedAt + LOGIN_REQUEST_TTL on b's clock, not on a's
    const again = await a.details(token, false).catch((err: unknown) => err);
    expect(again).to.be.instanceOf(AuthError).and.to.have.property('code', 'already_read');
  });
});
