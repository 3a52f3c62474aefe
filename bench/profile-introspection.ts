/**
 * Where does keygate's time go per introspection? Starts keygate (embedded) under
 * node --cpu-prof, introspects a pool of live tokens at a fixed concurrency for a bounded
 * time, stops it (the profile is written at exit) and prints the self-time summary.
 *
 *   node --import tsx bench/profile-introspection.ts [concurrency=50] [seconds=8]
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, cpuMs, killAll, Worker } from './lib.js';
import { BENCH_API, startKeygate } from './server.js';
import { summarizeProfile } from './profile-summary.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const concurrency = Number(positional[0] ?? 50);
const seconds = Math.min(60, Number(positional[1] ?? 8));
const dir = join(BENCH_DIR, 'results', 'profiles', `introspection-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(dir, { recursive: true });
process.on('exit', () => killAll());
setTimeout(() => {
  console.error('profile-introspection: deadline reached');
  process.exit(2);
}, (seconds + 60) * 1000).unref();

const ws = new Worker('ws-load.ts');
const http = new Worker('http-load.ts');
const server = await startKeygate({ nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] });
try {
  const tokens = await ws.call<string[]>('tokens', { url: server.wsUrl, n: 300 }, 60_000);
  const authorization = `Basic ${Buffer.from(`${BENCH_API.USER_API_KEY}:${BENCH_API.USER_API_SECRET}`).toString('base64')}`;
  const before = cpuMs(server.pid);
  const run = await http.call<{ ok: number; perSecond: number }>('introspect', { urls: [server.url], concurrency, durationMs: seconds * 1000, maxRequests: 1_000_000, tokens, authorization, path: '/api/introspect' }, (seconds + 30) * 1000);
  const cpu = cpuMs(server.pid) - before;
  console.log(`${run.ok} introspections, ${run.perSecond.toFixed(0)}/s, server CPU ${((cpu * 1000) / run.ok).toFixed(0)} µs each (under the profiler)`);
} finally {
  await server.stop();
  ws.stop();
  http.stop();
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile in ${dir}`);
const { total, functions, owners } = summarizeProfile(join(dir, file), 45);
console.log(`${join(dir, file)}: ${total.toFixed(0)} ms sampled\n\nby package:`);
for (const o of owners) console.log(`${o.pct.toFixed(1).padStart(5)}%  ${String(o.selfMs).padStart(6)} ms  ${o.fn}`);
console.log('\nby function (self time):');
for (const f of functions) console.log(`${f.pct.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.fn}  ${f.where}`);
process.exit(0);
