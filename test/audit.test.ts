/** Issue 12 item 2: the audit log, written off the hot path, read by API and CLI, purged, and free of secrets. */
import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { AuditLog } from '../src/core/audit.js';
import { createEmitter } from '../src/core/events.js';
import { purgeOnce } from '../src/keygate.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { runCli } from './helpers/cli.js';
import { basic, bearer, client, type ApiClient } from './helpers/http.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TEST_SECRETS, TestClock, type TestKeygate } from './helpers/keygate.js';

const API = basic(TEST_API_KEY, TEST_API_SECRET);
const PASSWORD = 'a very secret password 42';

describe('the audit log', function () {
  this.timeout(60_000);
  let kg: TestKeygate;
  let api: ApiClient;
  const clock = new TestClock();
  const secrets: string[] = [PASSWORD, TEST_API_SECRET];

  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off', LOCKOUT_ATTEMPTS: '100', LOGIN_REDIRECT_ORIGINS: 'https://app.example' }, undefined, { now: clock.now });
    api = client(kg.url);
  });
  after(() => kg.stop());

  const read = async (qs = '') => {
    await kg.core.audit.flush();
    const reply = await api.get(`/api/audit${qs}`, { headers: API });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
    return reply.body as { events: Array<{ id: number; at: string; type: string; subject: string | null; door: string | null; code: string | null; address: string | null; detail: Record<string, unknown> }>; next: number | null };
  };

  it('records logins, refusals, revocations, account changes, key rotations and login requests', async () => {
    const created = await api.post('/api/accounts', { id: 'audited', username: 'audited_user', password: PASSWORD, roles: ['r'] }, { headers: API });
    expect(created.status).to.equal(201);
    const login = await api.post('/api/login', { username: 'audited_user', password: PASSWORD });
    secrets.push(login.body.userAuth.token, login.body.refreshToken);
    await api.post('/api/login', { username: 'audited_user', password: 'wrong guess of it' });
    const identity = PrivateKey.fromRandom();
    const keyAuth = await keypairLogin(identity, kg.wsUrl);
    secrets.push(keyAuth.token!);
    await api.post('/api/logout', undefined, { headers: bearer(keyAuth.token!) });
    await api.request('PATCH', '/api/accounts/audited', { roles: ['r', 's'] }, { headers: API });
    await api.request('PATCH', '/api/accounts/audited', { disabled: true }, { headers: API });
    await kg.core.rotateSigningKey();
    const request = await api.post('/api/login-requests', { postLoginURL: 'https://app.example/{token}' }, { headers: API });
    secrets.push(request.body.token, new URL(request.body.loginUrl as string).searchParams.get('loginRequest')!);
    const fresh = (await keypairLogin(identity, kg.wsUrl)).token!;
    const pageId = new URL(request.body.loginUrl as string).searchParams.get('loginRequest')!;
    expect((await api.post(`/api/login-requests/${pageId}/complete`, undefined, { headers: bearer(fresh) })).status).to.equal(200);
    expect((await api.get(`/api/login-requests/${request.body.token}`, { headers: API })).status).to.equal(200);

    const { events } = await read('?limit=1000');
    const types = events.map((e) => e.type);
    for (const type of ['account.created', 'login.succeeded', 'login.refused', 'token.revoked', 'account.roles', 'account.disabled', 'signing_key.rotated',
      'login_request.created', 'login_request.completed', 'login_request.redeemed']) {
      expect(types, type).to.include(type);
    }
    const refused = events.find((e) => e.type === 'login.refused')!;
    expect(refused).to.include({ subject: 'audited', door: 'password', code: 'invalid_credentials', address: '127.0.0.1' });
    const keyLogin = events.find((e) => e.type === 'login.succeeded' && e.subject === identity.public.toString())!;
    expect(keyLogin.door).to.equal('websocket');
    expect(new Date(keyLogin.at).getTime()).to.equal(clock.ms);
  });

  it('filters by subject, type and time, and pages with `after`', async () => {
    const bySubject = await read('?subject=audited');
    expect(bySubject.events.length).to.be.at.least(4);
    expect(bySubject.events.every((e) => e.subject === 'audited')).to.equal(true);
    const byType = await read('?type=login.refused');
    expect(byType.events.every((e) => e.type === 'login.refused')).to.equal(true);
    clock.advance(60_000);
    const cut = new Date(clock.ms).toISOString();
    await api.post('/api/login', { username: 'nobody_at_all', password: 'whatever it is' });
    const since = await read(`?since=${cut}`);
    expect(since.events.map((e) => e.type)).to.deep.equal(['login.refused']);
    const first = await read('?limit=2');
    expect(first.events).to.have.length(2);
    expect(first.next).to.equal(first.events[1]!.id);
    const second = await read(`?limit=2&after=${first.next}`);
    expect(second.events[0]!.id).to.be.above(first.next!);
    expect((await read(`?since=${cut.slice(0, 10)}`)).events.length, 'a date alone').to.be.at.least(1);
    for (const qs of ['?limit=0', '?limit=1001', '?since=yesterday', '?after=-1', '?subject=', `?type=${'t'.repeat(257)}`, '?limit=1&limit=2',
      '?after=', '?after=0x2', '?after=%202', '?limit=1e0', '?since=1', '?since=2026-11-22T10:00', `?since=${'2'.repeat(41)}`]) {
      expect((await api.get(`/api/audit${qs}`, { headers: API })).status, qs).to.equal(400);
    }
    expect((await api.get('/api/audit')).status).to.equal(401);
  });

  it('never holds a secret, password or token', async () => {
    const { events } = await read('?limit=1000');
    const text = JSON.stringify(events);
    for (const secret of secrets) expect(text.includes(secret), secret.slice(0, 12)).to.equal(false);
    expect(text).to.not.match(/eyJ[\w-]+\.eyJ/);
    expect(text).to.not.include('rt_');
    expect(text).to.not.include('argon2');
  });

  it('is read by `keygate audit` on the same store', async () => {
    await kg.core.audit.flush();
    const { code, stdout, stderr } = await runCli({ DATA_DIR: kg.dataDir, ...TEST_SECRETS }, ['audit', '--subject', 'audited', '--json']);
    expect(code, stderr).to.equal(0);
    const events = JSON.parse(stdout) as Array<{ type: string; subject: string }>;
    expect(events.length).to.be.at.least(4);
    expect(events.every((e) => e.subject === 'audited')).to.equal(true);
    const text = await runCli({ DATA_DIR: kg.dataDir, ...TEST_SECRETS }, ['audit', '--type', 'account.created']);
    expect(text.stdout).to.match(/account\.created {2}audited/);
  });

  it('purges events older than AUDIT_RETENTION_DAYS', async () => {
    const before = (await read('?limit=1000')).events.length;
    clock.advance(91 * 24 * 3600 * 1000);
    await api.post('/api/login', { username: 'nobody_at_all', password: 'whatever it is' });
    await kg.core.audit.flush();
    const { audit } = await purgeOnce(kg.core, kg.config);
    expect(audit).to.equal(before);
    expect((await read('?limit=1000')).events.map((e) => e.type)).to.deep.equal(['login.refused']);
  });
});

describe('the audit queue when a batch fails', () => {
  it('a close during a failing write still writes every event, and does not reject with that batch\'s failure', async () => {
    const store = new SqliteStore(':memory:');
    try {
      let failNext = true;
      const append = store.appendAudit.bind(store);
      // The store faults once (as a driver error would), while a flush of the timer's is under way.
      store.appendAudit = async (events) => {
        if (failNext) {
          failNext = false;
          await new Promise((r) => setTimeout(r, 20));
          throw new Error('disk I/O error');
        }
        return append(events);
      };
      const faults: unknown[] = [];
      const audit = new AuditLog({ store, events: createEmitter(), now: () => 1000, onError: (err) => void faults.push(err) });
      for (const type of ['a', 'b', 'c']) audit.record(type, {});
      const failing = audit.flush().then(() => 'written', (err: Error) => err.message);
      await audit.close();
      expect(await failing, 'the failing flush reports its own failure').to.equal('disk I/O error');
      expect((await store.queryAudit({ limit: 10 })).map((e) => e.type)).to.deep.equal(['a', 'b', 'c']);
      expect(faults).to.have.length(1);
    } finally {
      await store.close();
    }
  });
});
