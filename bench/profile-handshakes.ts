/**
 * Where does keygate's time go during handshakes? Starts keygate under node --cpu-prof,
 * drives full handshakes at a fixed concurrency for a bounded time, stops it (the profile is
 * written at exit) and prints the self-time summary.
 *
 *   node --import tsx bench/profile-handshakes.ts [concurrency=50] [seconds=8] [--patched]
 *
 * --patched profiles the copy of dist/ with the proposed changes (bench/patched.ts).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, killAll, Worker } from './lib.js';
import { FULL } from './params.js';
import { measureHandshakes } from './phase-handshakes.js';
import { preparePatchedDist } from './patched.js';
import { summarizeProfile } from './profile-summary.js';
import { startKeygate } from './server.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const concurrency = Number(positional[0] ?? 50);
const seconds = Math.min(60, Number(positional[1] ?? 8));
const dir = join(BENCH_DIR, 'results', 'profiles', `handshakes-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(dir, { recursive: true });
process.on('exit', () => killAll());
setTimeout(() => {
  console.error('profile-handshakes: deadline reached');
  process.exit(2);
}, (seconds + 60) * 1000).unref();

const ws = new Worker('ws-load.ts');
const mainJs = process.argv.includes('--patched') ? preparePatchedDist().mainJs : undefined;
const server = await startKeygate({ mainJs, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] });
try {
  await ws.call('prepare');
  const side = await measureHandshakes(ws, { name: 'keygate', pid: server.pid, wsUrl: server.wsUrl }, concurrency, FULL, seconds * 1000);
  console.log(`${side.run.ok} handshakes, ${side.perSecond.toFixed(0)}/s, p99 ${side.p99.toFixed(1)} ms, server CPU ${side.cpuUs.toFixed(0)} µs/handshake (under the profiler)`);
} finally {
  await server.stop();
  ws.stop();
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile in ${dir}`);
const { total, functions, owners } = summarizeProfile(join(dir, file), 40);
console.log(`${join(dir, file)}: ${total.toFixed(0)} ms sampled\n\nby package:`);
for (const o of owners) console.log(`${o.pct.toFixed(1).padStart(5)}%  ${String(o.selfMs).padStart(6)} ms  ${o.fn}`);
console.log('\nby function (self time):');
for (const f of functions) console.log(`${f.pct.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.fn}  ${f.where}`);
process.exit(0);
