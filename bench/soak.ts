/**
 * Issue 12, item 6: the soak. One fresh keygate (embedded, as the other phases run it) completes
 * `soakHandshakes` websocket handshakes at the target concurrency, bounded in count and in time
 * (past `soakMaxMs` it stops and reports that the cap was hit), while the bench samples it every
 * `soakSampleMs`:
 *
 * - its own GET /metrics (METRICS_TOKEN as a Bearer token): prom-client's default process metrics
 *   (process_resident_memory_bytes, nodejs_heap_size_used_bytes, nodejs_active_handles_total, ...)
 *   and keygate's (handshakes ended with a token, open sockets, pending handshakes);
 * - a bench-only probe preloaded into it (bench/soak-probe.ts): the listeners on process and on
 *   every EventEmitter made before the server listened, written to stderr on SIGUSR2;
 * - its stderr, for process warnings such as MaxListenersExceededWarning.
 *
 * The server runs without --expose-gc, so nothing forces a collection: memory growth compares the
 * medians of the first and the last third of the samples. The heap is judged as the latest full
 * collection left it (the probe's live heap); the heap in use at the sample is reported beside
 * it. Handles and listeners are also read at rest (no load, the generator's sockets closed)
 * before and after.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { BENCH_DIR, median, sleep, type Worker } from './lib.js';
import type { Params } from './params.js';
import { startKeygate, type KeygateProcess } from './server.js';
import type { ProbeLine } from './soak-probe.js';
import type { HandshakeRun, SoakRest, SoakResult, SoakSample, SoakThird } from './types.js';

/** Compiles the probe (TypeScript, no imports of ours) to plain JS that `node --import` can preload. */
function compileProbe(): string {
  const out = join(BENCH_DIR, 'results', 'soak-probe.mjs');
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  const { code } = transformSync(readFileSync(join(BENCH_DIR, 'soak-probe.ts'), 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' });
  writeFileSync(out, code);
  return pathToFileURL(out).href;
}

/** Prometheus text format: `name{labels} value` lines, by name (the labels kept as written). */
function parseMetrics(text: string): Map<string, { labels: string; value: number }[]> {
  const out = new Map<string, { labels: string; value: number }[]>();
  for (const line of text.split('\n')) {
    const m = /^([\w:]+)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    list.push({ labels: m[2] ?? '', value: Number(m[3]) });
    out.set(m[1]!, list);
  }
  return out;
}

interface Reading {
  sample: SoakSample;
  handlesByType: Record<string, number>;
  probe: ProbeLine;
}

async function read(server: KeygateProcess, token: string, t0: number): Promise<Reading> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const metrics = parseMetrics(await res.text());
  const one = (name: string) => {
    const v = metrics.get(name)?.[0]?.value;
    if (v === undefined) throw new Error(`/metrics has no ${name}`);
    return v;
  };
  const handlesByType: Record<string, number> = {};
  for (const { labels, value } of metrics.get('nodejs_active_handles') ?? []) handlesByType[/type="([^"]*)"/.exec(labels)?.[1] ?? labels] = value;
  const line = server.nextProbeLine(5000);
  process.kill(server.pid, 'SIGUSR2');
  const probe = JSON.parse(await line) as ProbeLine;
  return {
    sample: {
      tMs: performance.now() - t0,
      handshakes: one('keygate_handshake_duration_seconds_count'),
      rssBytes: one('process_resident_memory_bytes'),
      heapUsedBytes: one('nodejs_heap_size_used_bytes'),
      heapTotalBytes: one('nodejs_heap_size_total_bytes'),
      externalBytes: one('nodejs_external_memory_bytes'),
      liveHeapBytes: probe.liveHeapBytes ?? NaN,
      fullGcs: probe.fullGcs,
      activeHandles: one('nodejs_active_handles_total'),
      activeResources: one('nodejs_active_resources_total'),
      openSockets: one('keygate_open_sockets'),
      pendingHandshakes: one('keygate_pending_handshakes'),
      listeners: probe.listeners,
      emitters: probe.emitters,
    },
    handlesByType,
    probe,
  };
}

/** The server at rest: the generator's sockets closed and settled, then the last of three readings a second apart. */
async function atRest(server: KeygateProcess, token: string, t0: number): Promise<SoakRest> {
  await sleep(3000);
  let r = await read(server, token, t0);
  for (let i = 0; i < 2; i++) {
    await sleep(1000);
    r = await read(server, token, t0);
  }
  return { ...r.sample, handlesByType: r.handlesByType, listenersByType: r.probe.byType };
}

function thirdOf(samples: SoakSample[]): SoakThird {
  const m = (k: keyof SoakSample) => median(samples.map((s) => s[k]).filter((v) => !Number.isNaN(v)));
  return {
    samples: samples.length,
    handshakesAtEnd: samples[samples.length - 1]?.handshakes ?? NaN,
    rssBytes: m('rssBytes'),
    heapUsedBytes: m('heapUsedBytes'),
    heapTotalBytes: m('heapTotalBytes'),
    externalBytes: m('externalBytes'),
    liveHeapBytes: m('liveHeapBytes'),
    activeHandles: m('activeHandles'),
    openSockets: m('openSockets'),
    listeners: m('listeners'),
  };
}

export async function soakPhase(ws: Worker, p: Params, log: (s: string) => void): Promise<SoakResult> {
  const token = randomBytes(24).toString('base64url');
  const concurrency = p.targetConcurrency;
  const server = await startKeygate({ env: { METRICS_TOKEN: token }, nodeFlags: ['--import', compileProbe()] });
  try {
    const url = server.wsUrl;
    const warm = await ws.call<HandshakeRun>('handshakes', { url, concurrency, durationMs: 4 * p.soakChunkMs, maxHandshakes: p.soakWarmupHandshakes }, 4 * p.soakChunkMs + 60_000);
    if (warm.ok === 0) throw new Error(`soak warm-up: no handshake completed: ${JSON.stringify(warm.errors)}`);
    const before = await atRest(server, token, performance.now());
    log(`  warm-up: ${warm.ok} handshakes; at rest: RSS ${(before.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(before.heapUsedBytes / 2 ** 20).toFixed(1)} MiB, ${before.activeHandles} handles, ${before.listeners} listeners`);

    const t0 = performance.now();
    const samples: SoakSample[] = [];
    let sampleErrors = 0;
    let stopSampling = false;
    const sampler = (async () => {
      while (!stopSampling) {
        const next = performance.now() + p.soakSampleMs;
        try {
          samples.push((await read(server, token, t0)).sample);
        } catch (err) {
          sampleErrors++;
          log(`  sample failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        while (!stopSampling && performance.now() < next) await sleep(Math.min(100, next - performance.now()));
      }
    })();

    let ok = 0;
    const errors: Record<string, number> = {};
    const chunks: SoakResult['chunks'] = [];
    const deadline = t0 + p.soakMaxMs;
    try {
      while (ok < p.soakHandshakes) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        const run = await ws.call<HandshakeRun>('handshakes', { url, concurrency, durationMs: Math.min(p.soakChunkMs, left), maxHandshakes: p.soakHandshakes - ok }, p.soakChunkMs + 60_000);
        if (run.ok === 0) throw new Error(`soak: no handshake completed in a chunk: ${JSON.stringify(run.errors)}`);
        ok += run.ok;
        for (const [e, n] of Object.entries(run.errors)) errors[e] = (errors[e] ?? 0) + n;
        chunks.push({ ok: run.ok, perSecond: run.perSecond, p50: run.latency.p50, p99: run.latency.p99 });
        const last = samples[samples.length - 1];
        log(`  ${ok} handshakes in ${((performance.now() - t0) / 1000).toFixed(0)} s (${run.perSecond.toFixed(0)}/s, p99 ${run.latency.p99.toFixed(1)} ms)${last ? `; RSS ${(last.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(last.heapUsedBytes / 2 ** 20).toFixed(1)} MiB, ${last.activeHandles} handles, ${last.listeners} listeners` : ''}`);
      }
    } finally {
      stopSampling = true;
      await sampler;
    }
    const elapsedMs = performance.now() - t0;
    const capHit = ok < p.soakHandshakes;
    if (capHit) log(`  time cap of ${p.soakMaxMs / 1000} s hit after ${ok} of ${p.soakHandshakes} handshakes`);

    const after = await atRest(server, token, t0);
    // A sample's live heap counts only when a full collection ran since the sample before it
    // (or since the reading at rest, for the first): otherwise it is an older collection's figure.
    let gcsSeen = before.fullGcs;
    for (const s of samples) {
      if (s.fullGcs <= gcsSeen) s.liveHeapBytes = NaN;
      gcsSeen = Math.max(gcsSeen, s.fullGcs);
    }
    const k = Math.floor(samples.length / 3);
    const thirds = k === 0 ? [] : [samples.slice(0, k), samples.slice(k, samples.length - k), samples.slice(samples.length - k)].map(thirdOf);
    const growth = (key: 'rssBytes' | 'heapUsedBytes' | 'liveHeapBytes') => (thirds.length ? thirds[2]![key] / thirds[0]![key] - 1 : NaN);
    const listeners = samples.map((s) => s.listeners);
    return {
      target: p.soakHandshakes,
      maxMs: p.soakMaxMs,
      capHit,
      concurrency,
      warmupHandshakes: warm.ok,
      handshakes: ok,
      serverHandshakes: after.handshakes - before.handshakes,
      errors,
      elapsedMs,
      perSecond: (ok * 1000) / elapsedMs,
      chunks,
      sampleEveryMs: p.soakSampleMs,
      sampleErrors,
      samples,
      thirds,
      rssGrowth: growth('rssBytes'),
      heapGrowth: growth('heapUsedBytes'),
      liveHeapGrowth: growth('liveHeapBytes'),
      fullGcs: after.fullGcs - before.fullGcs,
      listenersMin: Math.min(...listeners),
      listenersMax: Math.max(...listeners),
      before,
      after,
      warnings: { ...server.warnings },
    };
  } finally {
    await server.stop();
  }
}
