/**
 * Backends (issue 9, item 8): the embedded default (SQLite + memory) against one and two
 * instances on PostgreSQL + Redis, in the same run: handshakes/s, password logins/s,
 * refreshes/s and introspections/s with p50/p99 and server CPU per operation, and
 * introspection against a bare Koa route that parses the same JSON body. Rate limits are on
 * (with points no run reaches), so every operation pays for its counters where they live.
 */
import { ownPostgres, ownRedis, type Engine } from '../test/helpers/engines.js';
import { PostgresStore } from '../src/store/postgres.js';
import { cpuMs, median, type Worker } from './lib.js';
import type { Params } from './params.js';
import { BENCH_PASSWORD, seedDataDir, seedUsersInStore, USER_PREFIX } from './seed.js';
import { BENCH_BASIC, makeDataDir, startKeygate, type KeygateProcess } from './server.js';
import type { BackendOp, BackendRow, LoginRun, Results } from './types.js';

interface Run extends LoginRun {
  generatorCpuMs?: number;
  inactive?: number;
}

export interface BackendWorkers {
  ws: Worker;
  login: Worker;
  http: Worker;
  koa: Worker;
}

/** Limits counted on every request, never reached. */
const LIMITS_ON = { RATE_LIMITS: 'on', RATE_LIMIT_POINTS: '1000000', LOCKOUT_ATTEMPTS: '1000', REISSUE_LIMIT_POINTS: '1000000' };

/** One bounded run, with the server processes' CPU measured around it. */
async function measure(servers: KeygateProcess[], run: () => Promise<Run>, what: string): Promise<BackendOp> {
  const cpu0 = servers.map((s) => cpuMs(s.pid));
  const result = await run();
  const cpu = servers.reduce((sum, s, i) => sum + cpuMs(s.pid) - cpu0[i]!, 0);
  if (result.ok === 0) throw new Error(`${what}: nothing succeeded: ${JSON.stringify(result.statuses ?? (result as { errors?: unknown }).errors)}`);
  if (result.inactive) throw new Error(`${what}: ${result.inactive} live tokens were introspected as inactive`);
  return { perSecond: result.perSecond, p50: result.latency.p50, p99: result.latency.p99, cpuUs: (cpu * 1000) / result.ok };
}

const medianOp = (ops: BackendOp[]): BackendOp => ({
  perSecond: median(ops.map((o) => o.perSecond)), p50: median(ops.map((o) => o.p50)), p99: median(ops.map((o) => o.p99)), cpuUs: median(ops.map((o) => o.cpuUs)),
});

async function measureConfig(name: string, servers: KeygateProcess[], koaUrl: string, w: BackendWorkers, p: Params, log: (s: string) => void): Promise<BackendRow> {
  const urls = servers.map((s) => s.url);
  const wsUrls = servers.map((s) => s.wsUrl);
  const timeout = p.backendMs + 60_000;
  await w.ws.call('handshakes', { urls: wsUrls, concurrency: 10, durationMs: p.warmupMs, maxHandshakes: p.maxHandshakes }, timeout);
  const tokens = await w.ws.call<string[]>('tokens', { url: wsUrls[0], n: p.introspectTokens }, timeout);
  const sessions = await w.http.call<{ refreshToken: string }[]>('sessions', { url: urls[0], n: p.refreshChains, prefix: USER_PREFIX, password: BENCH_PASSWORD }, timeout);
  const introspectArgs = (targets: string[]) => ({ urls: targets, concurrency: p.introspectConcurrency, durationMs: p.backendMs, maxRequests: p.maxRequests, tokens, authorization: BENCH_BASIC, path: '/api/introspect' });

  const ops: Record<'handshakes' | 'logins' | 'refreshes' | 'introspections' | 'baseline', BackendOp[]> = { handshakes: [], logins: [], refreshes: [], introspections: [], baseline: [] };
  let chains = sessions.map((s) => s.refreshToken);
  for (let round = 0; round < p.rounds; round++) {
    ops.handshakes.push(await measure(servers, () => w.ws.call('handshakes', { urls: wsUrls, concurrency: p.targetConcurrency, durationMs: p.backendMs, maxHandshakes: p.maxHandshakes }, timeout), `${name} handshakes`));
    ops.logins.push(await measure(servers, () => w.login.call('logins', { url: urls[0], urls, concurrency: p.loginConcurrency, durationMs: p.backendMs, maxLogins: p.maxLogins, prefix: USER_PREFIX, users: p.loginUsers, password: BENCH_PASSWORD }, timeout), `${name} logins`));
    ops.refreshes.push(await measure(servers, async () => {
      const run = await w.http.call<Run & { chains?: string[] }>('refresh', { urls, concurrency: chains.length, durationMs: p.backendMs, maxRequests: p.maxRequests, refreshTokens: chains }, timeout);
      if (run.chains) chains = run.chains;
      return run;
    }, `${name} refreshes`));
    // Introspection and its baseline back to back, order alternating, so drift hits both alike.
    const pair = async (first: boolean) => first
      ? ops.introspections.push(await measure(servers, () => w.http.call('introspect', introspectArgs(urls), timeout), `${name} introspections`))
      : ops.baseline.push(await measure([{ pid: w.koa.pid } as KeygateProcess], () => w.http.call('introspect', introspectArgs([koaUrl]), timeout), 'bare Koa route'));
    await pair(round % 2 === 0);
    await pair(round % 2 !== 0);
    const last = (k: keyof typeof ops) => ops[k][ops[k].length - 1]!.perSecond.toFixed(0);
    log(`  ${name}, round ${round + 1}: ${last('handshakes')} hs/s, ${last('logins')} logins/s, ${last('refreshes')} refreshes/s, ${last('introspections')} introspections/s (bare Koa ${last('baseline')}/s)`);
  }
  return {
    name,
    instances: servers.length,
    handshakes: medianOp(ops.handshakes),
    logins: medianOp(ops.logins),
    refreshes: medianOp(ops.refreshes),
    introspections: medianOp(ops.introspections),
    baseline: medianOp(ops.baseline),
    introspectionRatio: median(ops.introspections.map((o, i) => o.perSecond / ops.baseline[i]!.perSecond)),
  };
}

export async function backendsPhase(w: BackendWorkers, hash: string, p: Params, log: (s: string) => void): Promise<Results['backends']> {
  const engines: Engine[] = [];
  const dirs: string[] = [];
  try {
    const [db, cache] = await Promise.all([ownPostgres(), ownRedis()]);
    engines.push(db, cache);
    const { url: koaUrl } = await w.koa.call<{ url: string }>('start');
    const rows: BackendRow[] = [];

    const embeddedDir = makeDataDir();
    dirs.push(embeddedDir);
    await seedDataDir(embeddedDir, p.loginUsers, hash);
    const embedded = await startKeygate({ dataDir: embeddedDir, env: LIMITS_ON });
    rows.push(await measureConfig('embedded (SQLite + memory)', [embedded], koaUrl, w, p, log));
    await embedded.stop();

    const records = await PostgresStore.open(db.url, { poolSize: 10, timeoutMs: 5000 });
    await seedUsersInStore(records, p.loginUsers, hash);
    await records.close();
    const env = { ...LIMITS_ON, DATABASE_URL: db.url, REDIS_URL: cache.url, SIGNING_KEY_SECRET: 'bench-signing-key-secret-0123456789abcdef' };
    for (const count of [1, 2]) {
      const servers = await Promise.all(Array.from({ length: count }, () => startKeygate({ env })));
      rows.push(await measureConfig(`PostgreSQL + Redis, ${count} instance${count > 1 ? 's' : ''}`, servers, koaUrl, w, p, log));
      await Promise.all(servers.map((s) => s.stop()));
    }
    return rows;
  } finally {
    await Promise.all(engines.map((e) => e.remove()));
    const { rmSync } = await import('node:fs');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
