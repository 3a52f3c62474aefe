/**
 * Where does keygate's time go during handshakes? Starts keygate under node --cpu-prof,
 * drives full handshakes at a fixed concurrency for a bounded time, stops it (the profile is
 * written at exit) and prints the self-time summary.
 *
 *   node --import tsx bench/profile-handshakes.ts [concurrency=50] [seconds=8]
 */
import { Worker } from './lib.js';
import { FULL } from './params.js';
import { measureHandshakes } from './phase-handshakes.js';
import { printProfileIn, profileSession } from './profile-summary.js';
import { startKeygate } from './server.js';

const { concurrency, seconds, dir, nodeFlags } = profileSession('handshakes');

const ws = new Worker('ws-load.ts');
const server = await startKeygate({ nodeFlags });
try {
  await ws.call('prepare');
  const side = await measureHandshakes(ws, { name: 'keygate', pid: server.pid, wsUrl: server.wsUrl }, concurrency, FULL, seconds * 1000);
  console.log(`${side.run.ok} handshakes, ${side.perSecond.toFixed(0)}/s, p99 ${side.p99.toFixed(1)} ms, server CPU ${side.cpuUs.toFixed(0)} µs/handshake (under the profiler)`);
} finally {
  await server.stop();
  ws.stop();
}
printProfileIn(dir, 40);
process.exit(0);
