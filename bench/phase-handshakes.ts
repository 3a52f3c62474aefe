/**
 * Item 1 (and the throughput half of item 6): full websocket handshakes against keygate and
 * the bare-ws baseline, same generator, rounds interleaved so that drift hits both alike.
 */
import { cpuMs, median, type Worker } from './lib.js';
import { KEY_POOL, type Params } from './params.js';
import type { HandshakeRow, HandshakeRun, HandshakeSide } from './types.js';

export interface Target {
  name: 'keygate' | 'baseline' | 'required';
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

/**
 * Rounds of handshakes at each concurrency against keygate, the bare ws baseline and, when
 * given, the required-work reference (bench/baseline-required.ts); the order rotates each round.
 */
export async function handshakePhase(ws: Worker, keygate: Target, baseline: Target, p: Params, log: (s: string) => void, required?: Target): Promise<HandshakeRow[]> {
  // Every identity's first login makes its account (one commit each): done before measuring,
  // so the rounds measure what most logins are, a returning key. Bounded in count and time.
  // The reference gets the same pass, so that it too has every key parsed and its account made.
  const targets = required ? [keygate, baseline, required] : [keygate, baseline];
  for (const t of targets.filter((t) => t !== baseline)) {
    await ws.call<HandshakeRun>('handshakes', { url: t.wsUrl, concurrency: 10, durationMs: 60_000, maxHandshakes: KEY_POOL }, 90_000);
  }
  for (const t of targets) await measureHandshakes(ws, t, 10, p, p.warmupMs); // JIT warm-up
  const perConcurrency = new Map<number, HandshakeRow['rounds']>();
  for (let round = 0; round < p.rounds; round++) {
    for (const c of p.concurrencies) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      const pair: Partial<Record<Target['name'], HandshakeSide>> = {};
      for (const t of order) pair[t.name] = strip(await measureHandshakes(ws, t, c, p));
      const list = perConcurrency.get(c) ?? [];
      list.push(pair as HandshakeRow['rounds'][number]);
      perConcurrency.set(c, list);
      const side = (name: string, s: HandshakeSide) => `${name} ${s.perSecond.toFixed(0)}/s p99 ${s.p99.toFixed(1)} ms cpu ${s.cpuUs.toFixed(0)} µs`;
      log(`  round ${round + 1} c=${c}: ${side('keygate', pair.keygate!)} | ${side('baseline', pair.baseline!)}${pair.required ? ` | ${side('required', pair.required)}` : ''}`);
    }
  }
  return p.concurrencies.map((concurrency) => {
    const rounds = perConcurrency.get(concurrency)!;
    const withRequired = rounds.filter((r): r is typeof r & { required: HandshakeSide } => r.required !== undefined);
    return {
      concurrency,
      keygate: medianSide(rounds.map((r) => r.keygate)),
      baseline: medianSide(rounds.map((r) => r.baseline)),
      throughputRatio: median(rounds.map((r) => r.keygate.perSecond / r.baseline.perSecond)),
      p99Ratio: median(rounds.map((r) => r.keygate.p99 / r.baseline.p99)),
      cpuExcessUs: median(rounds.map((r) => r.keygate.cpuUs - r.baseline.cpuUs)),
      ...(withRequired.length === 0 ? {} : {
        required: medianSide(withRequired.map((r) => r.required)),
        requiredExcessUs: median(withRequired.map((r) => r.required.cpuUs - r.baseline.cpuUs)),
        aboveRequiredUs: median(withRequired.map((r) => r.keygate.cpuUs - r.required.cpuUs)),
      }),
      rounds,
    };
  });
}
