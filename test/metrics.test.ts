/** Issue 12 item 1: GET /metrics in the Prometheus text format, read with a real parser. */
import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { login as keypairLogin, loginOverHttp } from '../src/client/index.js';
import { basic, bearer, client, type ApiClient } from './helpers/http.js';
import { closeSync, openSync, rmSync } from 'node:fs';
import { loadConfig } from '../src/config.js';
import { startKeygate } from '../src/keygate.js';
import { LogOutput } from '../src/log-output.js';
import { createLogger } from '../src/log.js';
import { startTestKeygate, tempDir, TEST_API_KEY, TEST_API_SECRET, TEST_SECRETS, type TestKeygate } from './helpers/keygate.js';

const METRICS_TOKEN = 'metrics-token-0123456789';
const API = basic(TEST_API_KEY, TEST_API_SECRET);
const PASSWORD = 'correct horse battery staple';

type Families = ReturnType<typeof parsePrometheusTextFormat>;

/** The value of a counter or gauge sample with these labels (0 when absent); for a histogram, its count (the +Inf bucket). */
function value(families: Families, name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample) return 0;
  return Number(sample.value ?? sample.count ?? sample.buckets?.['+Inf'] ?? 0);
}

describe('metrics (Prometheus)', function () {
  this.timeout(30_000);
  let kg: TestKeygate;
  let api: ApiClient;
  before(async () => {
    kg = await startTestKeygate({ METRICS_TOKEN, RATE_LIMITS: 'off', LOCKOUT_ATTEMPTS: '2', REFRESH_REUSE_INTERVAL_MS: '0' });
    api = client(kg.url);
  });
  after(() => kg.stop());

  async function scrape(): Promise<Families> {
    const reply = await fetch(`${kg.url}/metrics`, { headers: bearer(METRICS_TOKEN) });
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusTextFormat(await reply.text());
  }

  it('is served only for Authorization: Bearer <METRICS_TOKEN>', async () => {
    for (const headers of [{}, bearer('wrong-token-0123456789'), API]) {
      const reply = await api.get('/metrics', { headers });
      expect(reply.status).to.equal(401);
      expect(reply.body.error).to.equal('unauthorized');
    }
  });

  it('moves the right counters for logins by door and outcome, refusals by code, tokens, reuse and lockouts', async () => {
    const before = await scrape();
    await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl);
    await loginOverHttp(PrivateKey.fromRandom(), kg.url);
    await kg.core.users.register('metered_user', PASSWORD);
    const { body } = await api.post('/api/login', { username: 'metered_user', password: PASSWORD });
    for (let i = 0; i < 3; i++) await api.post('/api/login', { username: 'metered_user', password: 'wrong password!' });
    const next = await api.post('/api/refresh', { refreshToken: body.refreshToken });
    expect(next.status).to.equal(200);
    expect((await api.post('/api/refresh', { refreshToken: body.refreshToken })).status).to.equal(401);
    await api.post('/api/provision', { user: 'metered-app-user' }, { headers: API });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

    expect(delta('keygate_logins_total', { door: 'websocket', outcome: 'success' })).to.equal(1);
    expect(delta('keygate_logins_total', { door: 'http_challenge', outcome: 'success' })).to.equal(1);
    expect(delta('keygate_logins_total', { door: 'password', outcome: 'success' })).to.equal(1);
    expect(delta('keygate_logins_total', { door: 'password', outcome: 'refused' })).to.equal(3);
    expect(delta('keygate_logins_total', { door: 'provision', outcome: 'success' })).to.equal(1);
    expect(delta('keygate_refusals_total', { code: 'invalid_credentials' })).to.equal(2);
    expect(delta('keygate_refusals_total', { code: 'account_locked' })).to.equal(1);
    expect(delta('keygate_lockouts_total')).to.equal(1);
    expect(delta('keygate_tokens_issued_total', { kind: 'login' })).to.equal(3);
    expect(delta('keygate_tokens_issued_total', { kind: 'refresh' })).to.equal(1);
    expect(delta('keygate_tokens_issued_total', { kind: 'provision' })).to.equal(1);
    expect(delta('keygate_refresh_reuse_total')).to.equal(1);
    expect(delta('keygate_tokens_revoked_total', { reason: 'refresh token reused' })).to.equal(1);
    expect(delta('keygate_handshake_duration_seconds')).to.equal(1);
    expect(delta('keygate_login_duration_seconds')).to.equal(4);
  });

  it('has gauges of sockets, pending handshakes, the hash queue and the stores, and Node\'s process metrics', async () => {
    const families = await scrape();
    const names = new Set(families.map((f) => f.name));
    for (const name of ['keygate_open_sockets', 'keygate_pending_handshakes', 'keygate_hash_queue_depth', 'keygate_hashes_running',
      'keygate_store_latency_seconds', 'keygate_log_write_failures', 'keygate_log_lines_dropped', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      expect(names.has(name), name).to.equal(true);
    }
    expect(value(families, 'keygate_store_latency_seconds', { store: 'records', backend: 'sqlite' })).to.be.above(0);
    expect(value(families, 'keygate_store_latency_seconds', { store: 'state', backend: 'memory' })).to.be.above(0);
    expect(value(families, 'keygate_pending_handshakes')).to.equal(0);
  });

  it('a log output that fails (/dev/full) fails no request, and its failures and dropped lines show', async () => {
    const dataDir = tempDir();
    const fd = openSync('/dev/full', 'w');
    const reports: string[] = [];
    const logOutput = new LogOutput({ fd, backlogMax: 2048, report: (t) => void reports.push(t) });
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...TEST_SECRETS, LOG_LEVEL: 'info', METRICS_TOKEN, RATE_LIMITS: 'off' });
    const other = await startKeygate(config, createLogger('info', logOutput), { logOutput });
    try {
      const http = client(other.url);
      for (let i = 0; i < 20; i++) expect((await http.get('/healthz')).status).to.equal(200);
      expect((await http.post('/api/users', { username: 'logless', password: PASSWORD })).status).to.equal(201);
      expect((await http.post('/api/login', { username: 'logless', password: PASSWORD })).status).to.equal(200);
      const reply = await fetch(`${other.url}/metrics`, { headers: bearer(METRICS_TOKEN) });
      const families = parsePrometheusTextFormat(await reply.text());
      expect(value(families, 'keygate_log_write_failures')).to.be.above(0);
      expect(value(families, 'keygate_log_lines_dropped')).to.be.above(0);
      expect(reports[0]).to.match(/writing the log failed \(ENOSPC\)/);
    } finally {
      await other.close();
      // The output's owner closes it before the descriptor: no retry may write to a reused number.
      logOutput.close();
      closeSync(fd);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is served without a token on METRICS_PORT only, and not on the main port without METRICS_TOKEN', async () => {
    const other = await startTestKeygate({ METRICS_PORT: '0', RATE_LIMITS: 'off' });
    try {
      expect(other.metricsPort).to.be.a('number');
      expect((await client(other.url).get('/metrics', { headers: bearer(METRICS_TOKEN) })).status).to.equal(404);
      const reply = await fetch(`http://127.0.0.1:${other.metricsPort}/metrics`);
      expect(reply.status).to.equal(200);
      const families = parsePrometheusTextFormat(await reply.text());
      expect(families.some((f) => f.name === 'keygate_logins_total')).to.equal(true);
      expect((await fetch(`http://127.0.0.1:${other.metricsPort}/other`)).status).to.equal(404);
    } finally {
      await other.stop();
    }
  });
});
