/**
 * Where does keygate's time go per introspection? Starts keygate (embedded) under
 * node --cpu-prof, introspects a pool of live tokens at a fixed concurrency for a bounded
 * time, stops it (the profile is written at exit) and prints the self-time summary.
 *
 *   node --import tsx bench/profile-introspection.ts [concurrency=50] [seconds=8]
 */
import { cpuMs, Worker } from './lib.js';
import { BENCH_BASIC, startKeygate } from './server.js';
import { printProfileIn, profileSession } from './profile-summary.js';

const { concurrency, seconds, dir, nodeFlags } = profileSession('introspection');

const ws = new Worker('ws-load.ts');
const http = new Worker('http-load.ts');
const server = await startKeygate({ nodeFlags });
try {
  const tokens = await ws.call<string[]>('tokens', { url: server.wsUrl, n: 300 }, 60_000);
  const before = cpuMs(server.pid);
  const run = await http.call<{ ok: number; perSecond: number }>('introspect', { urls: [server.url], concurrency, durationMs: seconds * 1000, maxRequests: 1_000_000, tokens, authorization: BENCH_BASIC, path: '/api/introspect' }, (seconds + 30) * 1000);
  const cpu = cpuMs(server.pid) - before;
  console.log(`${run.ok} introspections, ${run.perSecond.toFixed(0)}/s, server CPU ${((cpu * 1000) / run.ok).toFixed(0)} µs each (under the profiler)`);
} finally {
  await server.stop();
  ws.stop();
  http.stop();
}
printProfileIn(dir, 45);
process.exit(0);
