/**
 * Item 1 (and the throughput half of item 6): full websocket handshakes against keygate and
 * the bare-ws baseline, same generator, rounds interleaved so that drift hits both alike.
 */
import { cpuMs, median, type Worker } from './lib.js';
import { KEY_POOL, type Params } from './params.js';
import type { HandshakeRow, HandshakeRun, HandshakeSide } from './types.js';

export interface Target {
  name: 'keygate' | 'baseline';
  pid: number;
  wsUrl: string;
}

/** One bounded run of handshakes, with the target process's CPU measured around it. */
export async function measureHandshakes(ws: Worker, target: Target, concurrency: number, p: Params, durationMs = p.handshakeMs): Promise<HandshakeSide & { run: HandshakeRun }> {
  const cpu0 = cpuMs(target.pid);
  const run = await ws.call<HandshakeRun>('handshakes', { url: target.wsUrl, concurrency, durationMs, maxHandshakes: p.maxHandshakes }, durationMs + 30_000);
  const cpu1 = cpuMs(target.pid);
  const errors = Object.values(run.errors).reduce((a, b) => a + b, 0);
  if (run.ok === 0) throw new Error(`${target.name}: no handshake completed at concurrency ${concurrency}: ${JSON.stringify(run.errors)}`);
  return {
    perSecond: run.perSecond,
    p50: run.latency.p50,
    p99: run.latency.p99,
    cpuUs: ((cpu1 - cpu0) * 1000) / run.ok,
    generatorCpuUs: (run.generatorCpuMs * 1000) / run.ok,
    errors,
    run,
  };
}

const strip = ({ run: _run, ...side }: HandshakeSide & { run: HandshakeRun }): HandshakeSide => side;

function medianSide(sides: HandshakeSide[]): HandshakeSide {
  const m = (k: keyof HandshakeSide) => median(sides.map((s) => s[k]));
  return { perSecond: m('perSecond'), p50: m('p50'), p99: m('p99'), cpuUs: m('cpuUs'), generatorCpuUs: m('generatorCpuUs'), errors: sides.reduce((a, s) => a + s.errors, 0) };
}

export async function handshakePhase(ws: Worker, keygate: Target, baseline: Target, p: Params, log: (s: string) => void): Promise<HandshakeRow[]> {
  // Every identity's first login makes its account (one commit each): done before measuring,
  // so the rounds measure what most logins are, a returning key. Bounded in count and time.
  await ws.call<HandshakeRun>('handshakes', { url: keygate.wsUrl, concurrency: 10, durationMs: 60_000, maxHandshakes: KEY_POOL }, 90_000);
  for (const t of [keygate, baseline]) await measureHandshakes(ws, t, 10, p, p.warmupMs); // JIT warm-up
  const perConcurrency = new Map<number, { keygate: HandshakeSide; baseline: HandshakeSide }[]>();
  for (let round = 0; round < p.rounds; round++) {
    for (const c of p.concurrencies) {
      const order = round % 2 === 0 ? [keygate, baseline] : [baseline, keygate];
      const pair: Partial<Record<'keygate' | 'baseline', HandshakeSide>> = {};
      for (const t of order) pair[t.name] = strip(await measureHandshakes(ws, t, c, p));
      const list = perConcurrency.get(c) ?? [];
      list.push(pair as { keygate: HandshakeSide; baseline: HandshakeSide });
      perConcurrency.set(c, list);
      log(`  round ${round + 1} c=${c}: keygate ${pair.keygate!.perSecond.toFixed(0)}/s p99 ${pair.keygate!.p99.toFixed(1)} ms cpu ${pair.keygate!.cpuUs.toFixed(0)} µs | baseline ${pair.baseline!.perSecond.toFixed(0)}/s p99 ${pair.baseline!.p99.toFixed(1)} ms cpu ${pair.baseline!.cpuUs.toFixed(0)} µs`);
    }
  }
  return p.concurrencies.map((concurrency) => {
    const rounds = perConcurrency.get(concurrency)!;
    return {
      concurrency,
      keygate: medianSide(rounds.map((r) => r.keygate)),
      baseline: medianSide(rounds.map((r) => r.baseline)),
      throughputRatio: median(rounds.map((r) => r.keygate.perSecond / r.baseline.perSecond)),
      p99Ratio: median(rounds.map((r) => r.keygate.p99 / r.baseline.p99)),
      cpuExcessUs: median(rounds.map((r) => r.keygate.cpuUs - r.baseline.cpuUs)),
      rounds,
    };
  });
}
