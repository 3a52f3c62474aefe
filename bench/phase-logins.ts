/**
 * Items 3, 4 and the login half of 6: password logins at saturation against the raw argon2id
 * rate, handshake latency under a login storm, and login latency as the user table grows.
 */
import { median, sleep, type Worker } from './lib.js';
import type { Params } from './params.js';
import { measureHandshakes, type Target } from './phase-handshakes.js';
import { BENCH_PASSWORD, USER_PREFIX } from './seed.js';
import type { LoginRun, Results } from './types.js';

interface RawRate {
  done: number;
  elapsedMs: number;
  perSecond: number;
}

function loginArgs(url: string, concurrency: number, durationMs: number, users: number, p: Params) {
  return { url, concurrency, durationMs, maxLogins: p.maxLogins, prefix: USER_PREFIX, users, password: BENCH_PASSWORD };
}

export function rawArgon2(micro: Worker, hash: string, parallelism: number, durationMs: number, p: Params): Promise<RawRate> {
  return micro.call<RawRate>('argon2Rate', { hash, password: BENCH_PASSWORD, parallelism, durationMs, maxCount: p.maxLogins }, durationMs + 30_000);
}

function checkLogins(run: LoginRun, what: string): void {
  if (run.ok === 0) throw new Error(`${what}: no login succeeded: ${JSON.stringify(run.statuses)}`);
}

/** Item 3: logins/s at saturation vs argon2.verify at the same parallelism, paired per round. */
export async function loginPhase(login: Worker, micro: Worker, url: string, hash: string, hashConcurrency: number, p: Params, log: (s: string) => void): Promise<Results['logins']> {
  await login.call<LoginRun>('logins', loginArgs(url, p.loginConcurrency, Math.min(500, p.loginMs), p.loginUsers, p), 30_000); // warm-up
  const rounds: { server: number; raw: number; ratio: number; p50: number; p99: number; statuses: object }[] = [];
  for (let round = 0; round < p.rounds; round++) {
    const run = await login.call<LoginRun>('logins', loginArgs(url, p.loginConcurrency, p.loginMs, p.loginUsers, p), p.loginMs + 30_000);
    checkLogins(run, 'login saturation');
    const raw = await rawArgon2(micro, hash, hashConcurrency, p.loginMs, p);
    rounds.push({ server: run.perSecond, raw: raw.perSecond, ratio: run.perSecond / raw.perSecond, p50: run.latency.p50, p99: run.latency.p99, statuses: run.statuses });
    log(`  round ${round + 1}: keygate ${run.perSecond.toFixed(1)} logins/s, raw argon2 ${raw.perSecond.toFixed(1)}/s`);
  }
  return {
    concurrency: p.loginConcurrency,
    hashConcurrency,
    perSecond: median(rounds.map((r) => r.server)),
    rawPerSecond: median(rounds.map((r) => r.raw)),
    ratio: median(rounds.map((r) => r.ratio)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    rounds,
  };
}

/** Item 4: handshake latency idle vs during a login storm that keeps the hash slots full. */
export async function isolationPhase(ws: Worker, login: Worker, micro: Worker, target: Target, url: string, hash: string, cap: number, p: Params, log: (s: string) => void): Promise<Results['isolation'][number]> {
  await measureHandshakes(ws, target, p.isolationConcurrency, p, p.warmupMs);
  const rounds: { idleP99: number; stormP99: number; idleP50: number; stormP50: number; logins: number; raw: number; statuses: object }[] = [];
  for (let round = 0; round < p.rounds; round++) {
    const idle = await measureHandshakes(ws, target, p.isolationConcurrency, p, p.isolationMs);
    const lead = Math.min(500, p.isolationMs / 4);
    const stormMs = p.isolationMs + 2 * lead;
    const storm = login.call<LoginRun>('logins', loginArgs(url, p.stormConcurrency, stormMs, p.loginUsers, p), stormMs + 30_000);
    await sleep(lead); // the hash slots are full before the handshakes start
    const busy = await measureHandshakes(ws, target, p.isolationConcurrency, p, p.isolationMs);
    const stormRun = await storm;
    checkLogins(stormRun, 'login storm');
    const raw = await rawArgon2(micro, hash, cap, Math.min(2000, p.isolationMs), p);
    rounds.push({ idleP99: idle.p99, stormP99: busy.p99, idleP50: idle.p50, stormP50: busy.p50, logins: stormRun.perSecond, raw: raw.perSecond, statuses: stormRun.statuses });
    log(`  cap ${cap} round ${round + 1}: idle p99 ${idle.p99.toFixed(1)} ms, storm p99 ${busy.p99.toFixed(1)} ms, ${stormRun.perSecond.toFixed(1)} logins/s (raw ${raw.perSecond.toFixed(1)}/s)`);
  }
  return {
    cap,
    wsConcurrency: p.isolationConcurrency,
    stormConcurrency: p.stormConcurrency,
    idleP99: median(rounds.map((r) => r.idleP99)),
    stormP99: median(rounds.map((r) => r.stormP99)),
    ratio: median(rounds.map((r) => r.stormP99 / r.idleP99)),
    idleP50: median(rounds.map((r) => r.idleP50)),
    stormP50: median(rounds.map((r) => r.stormP50)),
    loginsPerSecond: median(rounds.map((r) => r.logins)),
    rawPerSecond: median(rounds.map((r) => r.raw)),
    rounds,
  };
}

/** Item 6: login latency, one at a time, against stores of different sizes; rounds interleaved. */
export async function growthPhase(login: Worker, stores: { users: number; url: string }[], p: Params, log: (s: string) => void): Promise<Results['growth']> {
  const per = new Map<number, { p50: number; p99: number; perSecond: number }[]>();
  for (const s of stores) await login.call<LoginRun>('logins', loginArgs(s.url, 1, Math.min(500, p.growthMs), s.users, p), 30_000);
  for (let round = 0; round < p.rounds; round++) {
    for (const s of round % 2 === 0 ? stores : [...stores].reverse()) {
      const run = await login.call<LoginRun>('logins', loginArgs(s.url, 1, p.growthMs, s.users, p), p.growthMs + 30_000);
      checkLogins(run, `growth ${s.users} users`);
      const list = per.get(s.users) ?? [];
      list.push({ p50: run.latency.p50, p99: run.latency.p99, perSecond: run.perSecond });
      per.set(s.users, list);
      log(`  round ${round + 1}: ${s.users} users: login p50 ${run.latency.p50.toFixed(1)} ms, p99 ${run.latency.p99.toFixed(1)} ms`);
    }
  }
  return stores.map(({ users }) => {
    const rounds = per.get(users)!;
    return { users, p50: median(rounds.map((r) => r.p50)), p99: median(rounds.map((r) => r.p99)), perSecond: median(rounds.map((r) => r.perSecond)), rounds };
  });
}
