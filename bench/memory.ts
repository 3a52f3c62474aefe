/**
 * Item 5: resident memory of a fresh keygate holding N pending handshakes (connected,
 * challenge received, never signed), minus idle; then the handshake timeout closes them
 * all and we look at how much memory comes back.
 */
import { median, rssKiB, sleep, type Worker } from './lib.js';
import type { Params } from './params.js';
import { measureHandshakes } from './phase-handshakes.js';
import { startKeygate } from './server.js';
import type { Results } from './types.js';

async function sampleRss(pid: number, samples = 5): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(rssKiB(pid));
    await sleep(100);
  }
  return median(values);
}

export async function memoryPhase(ws: Worker, p: Params, log: (s: string) => void): Promise<Results['memory']> {
  const timeout = p.pendingTimeoutMs;
  const server = await startKeygate({
    // Every pending handshake comes from 127.0.0.1: lift the per-address connection cap too.
    env: {
      HANDSHAKE_TIMEOUT_MS: String(timeout), CHALLENGE_TTL_MS: String(2 * timeout),
      WS_MAX_SOCKETS: String(Math.max(10_000, 2 * p.pendingHandshakes)), MAX_CONNECTIONS_PER_ADDRESS: String(Math.max(10_000, 2 * p.pendingHandshakes)),
    },
  });
  try {
    const target = { name: 'keygate' as const, pid: server.pid, wsUrl: server.wsUrl };
    await measureHandshakes(ws, target, 10, p, p.warmupMs); // warm: JIT, pools, one of everything
    await sleep(1000);
    const idleRssKiB = await sampleRss(server.pid);
    const opened = await ws.call<{ held: number; open: number; elapsedMs: number }>(
      'pending', { url: server.wsUrl, count: p.pendingHandshakes, parallel: p.pendingParallel, timeoutMs: timeout / 2 }, timeout + 30_000);
    const pendingRssKiB = await sampleRss(server.pid);
    const openAtSample = (await ws.call<{ open: number }>('openCount')).open;
    log(`  ${opened.held} pending handshakes in ${opened.elapsedMs.toFixed(0)} ms (${openAtSample} still open at the sample): RSS ${idleRssKiB} -> ${pendingRssKiB} KiB`);
    const closed = await ws.call<{ stillOpen: number; closeCodes: Record<string, number>; waitedMs: number }>('awaitClosed', { timeoutMs: timeout + 5000 }, timeout + 30_000);
    await sleep(1000);
    const closedRssKiB = await sampleRss(server.pid);
    // An idle V8 heap is not collected: a little traffic lets the GC run, as on any live server.
    await measureHandshakes(ws, target, 10, p, 1000);
    await sleep(1000);
    const afterRssKiB = await sampleRss(server.pid);
    log(`  closed by the server: ${JSON.stringify(closed.closeCodes)}, ${closed.stillOpen} left; RSS right after ${closedRssKiB} KiB, after 1 s of traffic ${afterRssKiB} KiB`);
    // Second burst: if the memory of the first is reused rather than leaked, RSS hardly grows again.
    const again = await ws.call<{ held: number }>('pending', { url: server.wsUrl, count: p.pendingHandshakes, parallel: p.pendingParallel, timeoutMs: timeout / 2 }, timeout + 30_000);
    const secondPendingRssKiB = await sampleRss(server.pid);
    await ws.call('awaitClosed', { timeoutMs: timeout + 5000 }, timeout + 30_000);
    await measureHandshakes(ws, target, 10, p, 1000);
    await sleep(1000);
    const secondAfterRssKiB = await sampleRss(server.pid);
    log(`  second burst of ${again.held}: RSS ${secondPendingRssKiB} KiB while pending, ${secondAfterRssKiB} KiB after`);
    const grown = pendingRssKiB - idleRssKiB;
    return {
      pending: p.pendingHandshakes,
      held: opened.held,
      openAtSample,
      connectMs: opened.elapsedMs,
      idleRssKiB,
      pendingRssKiB,
      closedRssKiB,
      secondPendingRssKiB,
      secondAfterRssKiB,
      afterRssKiB,
      perPendingKiB: grown / Math.max(1, openAtSample),
      returnedFraction: grown > 0 ? (pendingRssKiB - afterRssKiB) / grown : NaN,
      closeCodes: closed.closeCodes,
      stillOpen: closed.stillOpen,
      handshakeTimeoutMs: timeout,
    };
  } finally {
    await server.stop();
  }
}
