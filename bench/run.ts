/**
 * `npm run bench` (or `npm run bench:smoke`): starts keygate and a bare-ws baseline as their
 * own processes on loopback, drives them from separate generator processes, and reports.
 *
 *   --smoke      tiny counts (CI keeps the script from rotting); writes JSON only; no soak
 *   --profile    run the main keygate under node --cpu-prof and summarise where its time goes
 *   --only soak  only the soak (bench/soak.ts); writes bench/results/soak-<date>.json, prints its
 *                section, and leaves latest.json and docs/BENCHMARKS.md alone
 *
 * Everything is bounded in count and time, and a global deadline kills every child.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { memoryPhase } from './memory.js';
import { BENCH_DIR, killAll, median, Worker } from './lib.js';
import { FULL, SMOKE } from './params.js';
import { backendsPhase } from './phase-backends.js';
import { handshakePhase, measureHandshakes } from './phase-handshakes.js';
import { growthPhase, isolationPhase, loginPhase } from './phase-logins.js';
import { summarizeProfile } from './profile-summary.js';
import { judge, judgeSoak, renderMarkdown, renderSoak, renderTargets, writeReports } from './report.js';
import { makeDataDir, startKeygate, type KeygateProcess } from './server.js';
import { makeHash, seedDataDir } from './seed.js';
import { soakPhase } from './soak.js';
import type { Results } from './types.js';

const smoke = process.argv.includes('--smoke');
const profile = process.argv.includes('--profile');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? undefined : process.argv[onlyAt + 1];
if (only !== undefined && only !== 'soak') {
  console.error(`bench: --only takes "soak", not ${only ?? 'nothing'}`);
  process.exit(64);
}
const p = smoke ? SMOKE : FULL;
const t0 = Date.now();
const log = (s: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${s}`);

const dataDirs: string[] = [];
const cleanup = () => {
  killAll('SIGKILL');
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`bench: ${signal}, stopping everything`);
    process.exit(130);
  });
}
const deadline = setTimeout(() => {
  console.error(`bench: global deadline of ${p.deadlineMs / 1000} s reached; killing every child`);
  process.exit(2);
}, p.deadlineMs);
deadline.unref();

type Probe = { challenge: number; token: number; jwt: string };

/** A token from a handshake must verify against the server's own JWKS. */
async function checkToken(url: string, jwt: string, keySet?: JSONWebKeySet): Promise<void> {
  const jwks = createLocalJWKSet(keySet ?? await (await fetch(`${url}/.well-known/jwks.json`)).json() as JSONWebKeySet);
  const { payload } = await jwtVerify(jwt, jwks, { issuer: 'keygate', algorithms: ['EdDSA'] });
  if (typeof payload.sub !== 'string' || !payload.sub.startsWith('b')) throw new Error(`unexpected token subject ${String(payload.sub)}`);
}

async function seededServer(users: number, hash: string, env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<KeygateProcess> {
  const dir = makeDataDir();
  dataDirs.push(dir);
  await seedDataDir(dir, users, hash);
  return startKeygate({ dataDir: dir, env, nodeFlags });
}

function meta(loadavgStart: number[], notes: string[]): Results['meta'] {
  const flags = [...(profile ? ['--profile'] : []), ...(only ? ['--only', only] : [])];
  return {
    date: new Date().toISOString(),
    command: `npm run ${smoke ? 'bench:smoke' : 'bench'}${flags.length ? ` -- ${flags.join(' ')}` : ''}`,
    smoke,
    machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}`, memTotalMiB: Math.round(totalmem() / 2 ** 20) },
    loadavgStart,
    loadavgEnd: loadavg(),
    wallSeconds: (Date.now() - t0) / 1000,
    params: p,
    notes: [
      'keygate runs as `node dist/main.js` with LOG_LEVEL=info (its log to a file) and the audit log on, RATE_LIMITS=off; every generator, the baseline and the raw-rate measurements are separate processes.',
      ...(profile ? ['The main keygate ran under --cpu-prof in this run, which slows it: judge the handshake figures from a run without --profile.'] : []),
      ...notes,
    ],
  };
}

/** `--only soak`: the soak alone, reported on its own. */
async function soakOnly(): Promise<void> {
  const loadavgStart = loadavg();
  log(`keygate benchmark, the soak only (${smoke ? 'smoke' : 'full'} counts); load average ${loadavgStart.map((n) => n.toFixed(2)).join(' ')}`);
  const ws = new Worker('ws-load.ts');
  await ws.call('prepare');
  log('S. soak');
  const soak = await soakPhase(ws, p, log);
  ws.stop();
  const result = { meta: meta(loadavgStart, []), soak, targets: judgeSoak(soak) };
  console.log(['', ...renderTargets(result.targets), ...renderSoak(soak)].join('\n'));
  const dir = join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${smoke ? 'smoke-' : ''}soak-${result.meta.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  log(`wrote ${file}`);
}

async function main(): Promise<void> {
  if (only === 'soak') return soakOnly();
  const loadavgStart = loadavg();
  const notes: string[] = [];
  log(`keygate benchmark (${smoke ? 'smoke' : 'full'}${profile ? ', profiling' : ''}); load average ${loadavgStart.map((n) => n.toFixed(2)).join(' ')}`);

  const micro = new Worker('micro.ts');
  const ws = new Worker('ws-load.ts');
  const login = new Worker('login-load.ts');
  const baselineWorker = new Worker('baseline-ws.ts');
  const requiredWorker = new Worker('baseline-required.ts');
  await ws.call('prepare');

  log('floor');
  const floorRounds: { verifyUs: number; signUs: number; floorUs: number }[] = [];
  for (let i = 0; i < p.rounds; i++) floorRounds.push(await micro.call('floor', { n: p.floorOps }));
  const mf = (k: 'verifyUs' | 'signUs' | 'floorUs') => median(floorRounds.map((r) => r[k]));
  const floor: Results['floor'] = { verifyUs: mf('verifyUs'), signUs: mf('signUs'), floorUs: mf('floorUs'), rounds: floorRounds };
  log(`  floor ${floor.floorUs.toFixed(1)} µs (verify ${floor.verifyUs.toFixed(1)} + sign ${floor.signUs.toFixed(1)})`);

  log('starting keygate (seeded) and the baseline');
  const hash = await makeHash();
  const profileDir = join(BENCH_DIR, 'results', 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  if (profile) mkdirSync(profileDir, { recursive: true });
  const main = await seededServer(p.loginUsers, hash, {}, profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const { jwt, ...keygateSizes } = await ws.call<Probe>('probe', { url: main.wsUrl });
  await checkToken(main.url, jwt);
  const baseline = await baselineWorker.call<{ wsUrl: string }>('start', { tokenLength: keygateSizes.token, maxPayload: 4096 });
  const { jwt: _fake, ...baselineSizes } = await ws.call<Probe>('probe', { url: baseline.wsUrl });
  const required = await requiredWorker.call<{ dir: string; wsUrl: string; jwk: JSONWebKeySet['keys'][number] }>('start', { maxPayload: 4096 });
  dataDirs.push(required.dir);
  const { jwt: requiredJwt, ...requiredSizes } = await ws.call<Probe>('probe', { url: required.wsUrl });
  await checkToken(main.url, requiredJwt, { keys: [required.jwk] });
  // A token message of keygate's size, so that only the work behind it differs (a challenge's
  // size varies with its random bytes: JSON numbers of one to three digits).
  if (requiredSizes.token !== keygateSizes.token) throw new Error(`the required-work reference's token message has ${requiredSizes.token} bytes, keygate's ${keygateSizes.token}`);
  const keygateTarget = { name: 'keygate' as const, pid: main.pid, wsUrl: main.wsUrl };
  const baselineTarget = { name: 'baseline' as const, pid: baselineWorker.pid, wsUrl: baseline.wsUrl };
  const requiredTarget = { name: 'required' as const, pid: requiredWorker.pid, wsUrl: required.wsUrl };

  log('1. handshakes');
  const handshakes = await handshakePhase(ws, keygateTarget, baselineTarget, p, log, requiredTarget);
  await requiredWorker.call('stop');
  requiredWorker.stop();
  // The floor again, measured while the generator keeps the other core busy as it does during
  // the handshake rounds (it drives the bare ws server meanwhile): what verify + sign cost under
  // that contention, for context next to the quiet floor that the target is judged against.
  const loadedRounds: { verifyUs: number; signUs: number; floorUs: number }[] = [];
  for (let i = 0; i < p.rounds; i++) {
    const load = measureHandshakes(ws, baselineTarget, p.targetConcurrency, p, Math.max(p.handshakeMs, 2000));
    await new Promise((r) => setTimeout(r, 200));
    loadedRounds.push(await micro.call('floor', { n: p.floorOps }));
    await load;
  }
  const ml = (k: 'verifyUs' | 'signUs' | 'floorUs') => median(loadedRounds.map((r) => r[k]));
  floor.underLoad = { verifyUs: ml('verifyUs'), signUs: ml('signUs'), floorUs: ml('floorUs'), rounds: loadedRounds };
  log(`  floor under load ${floor.underLoad.floorUs.toFixed(1)} µs (verify ${floor.underLoad.verifyUs.toFixed(1)} + sign ${floor.underLoad.signUs.toFixed(1)})`);
  baselineWorker.stop();

  log('3. password logins at saturation');
  const logins = await loginPhase(login, micro, main.url, hash, 1, p, log);

  log('4. isolation under a login storm');
  const isolation: Results['isolation'] = [];
  for (const cap of p.hashCaps) {
    const server = cap === 1 ? main : await seededServer(p.loginUsers, hash, { HASH_CONCURRENCY: String(cap) });
    isolation.push(await isolationPhase(ws, login, micro, { name: 'keygate', pid: server.pid, wsUrl: server.wsUrl }, server.url, hash, cap, p, log));
    if (server !== main) await server.stop();
  }

  log('6. growth: login latency vs users in the store');
  const big = await seededServer(p.growthUsers, hash);
  const stores = [{ users: p.loginUsers, url: main.url }, { users: p.growthUsers, url: big.url }];
  const growth = await growthPhase(login, stores, p, log);
  await big.stop();
  await main.stop();

  let profileSummary: Results['profile'];
  if (profile) {
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const s = summarizeProfile(join(profileDir, file), 25);
      profileSummary = { file: join('bench/results/profiles', profileDir.split('/').pop()!, file), top: s.functions };
      log(`  profile: ${profileSummary.file}`);
    }
  }

  log('5. memory of pending handshakes');
  const memory = await memoryPhase(ws, p, log);

  log('B. backends: embedded vs one and two instances on PostgreSQL + Redis');
  const http = new Worker('http-load.ts');
  const koa = new Worker('baseline-koa.ts');
  const backends = await backendsPhase({ ws, login, http, koa }, hash, p, log);
  http.stop();
  koa.stop();

  let soak: Results['soak'];
  if (!smoke) {
    log(`S. soak: ${p.soakHandshakes} handshakes on one server, at most ${p.soakMaxMs / 1000} s`);
    soak = await soakPhase(ws, p, log);
  }

  const partial: Omit<Results, 'targets'> = {
    meta: meta(loadavgStart, notes),
    floor,
    messageSizes: { keygate: keygateSizes, baseline: baselineSizes, required: requiredSizes },
    handshakes,
    logins,
    isolation,
    growth,
    memory,
    backends,
    ...(profileSummary ? { profile: profileSummary } : {}),
    ...(soak ? { soak } : {}),
  };
  const results: Results = { ...partial, targets: judge(partial, p) };
  console.log('\n' + renderMarkdown(results, false));
  const written = writeReports(results);
  log(`wrote ${written.json}${written.markdown ? ` and ${written.markdown}` : ''}`);
  for (const w of [micro, ws, login]) w.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench failed:', err);
    process.exit(1);
  },
);
