/** Judges the targets and renders the results as markdown (printed, and written to docs/BENCHMARKS.md). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, ROOT } from './lib.js';
import type { Params } from './params.js';
import type { Results, SoakRest, SoakResult, Target } from './types.js';

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const mark = (met: boolean | null) => (met === null ? 'info' : met ? 'met' : '**missed**');

export function judge(r: Omit<Results, 'targets'>, p: Params): Target[] {
  const row = r.handshakes.find((h) => h.concurrency === p.targetConcurrency)!;
  const c = p.targetConcurrency;
  const cap1 = r.isolation.find((i) => i.cap === 1) ?? r.isolation[0]!;
  const g0 = r.growth[0]!;
  const g1 = r.growth[r.growth.length - 1]!;
  return [
    { item: '1', what: `CPU per handshake over baseline at c=${c}`, value: `${f0(row.cpuExcessUs)} µs = ${f2(row.cpuExcessUs / r.floor.floorUs)} × floor (${f0(r.floor.floorUs)} µs)`, target: '≤ 1.5 × floor', met: row.cpuExcessUs <= 1.5 * r.floor.floorUs },
    ...(r.floor.underLoad ? [{ item: '1', what: `the same, against the floor measured under the same load (the generator busy on the other core)`, value: `${f0(row.cpuExcessUs)} µs = ${f2(row.cpuExcessUs / r.floor.underLoad.floorUs)} × that floor (${f0(r.floor.underLoad.floorUs)} µs)`, target: 'context, not the target', met: null }] : []),
    ...(finite(row.requiredExcessUs) && finite(row.aboveRequiredUs) ? [
      { item: '1', what: `the required work alone over baseline at c=${c}: a minimal server doing only what the issues require of a handshake (bench/baseline-required.ts)`, value: `${f0(row.requiredExcessUs)} µs = ${f2(row.requiredExcessUs / r.floor.floorUs)} × floor`, target: 'context: at least the requirements\' cost', met: null },
      { item: '1', what: `keygate over that minimal server at c=${c}`, value: `${f0(row.aboveRequiredUs)} µs = ${f2(row.aboveRequiredUs / r.floor.floorUs)} × floor`, target: 'context: at most keygate\'s own', met: null },
    ] : []),
    { item: '1', what: `handshakes/s vs baseline at c=${c}`, value: `${f0(row.keygate.perSecond)} vs ${f0(row.baseline.perSecond)} = ${f2(row.throughputRatio)}`, target: '≥ 0.80', met: row.throughputRatio >= 0.8 },
    { item: '1', what: `p99 vs baseline at c=${c}`, value: `${f1(row.keygate.p99)} vs ${f1(row.baseline.p99)} ms = ${f2(row.p99Ratio)}`, target: '≤ 1.5', met: row.p99Ratio <= 1.5 },
    { item: '3', what: `logins/s at saturation vs raw argon2id (parallelism ${r.logins.hashConcurrency})`, value: `${f1(r.logins.perSecond)} vs ${f1(r.logins.rawPerSecond)} = ${f2(r.logins.ratio)}`, target: '≥ 0.8', met: r.logins.ratio >= 0.8 },
    { item: '4', what: `handshake p99 under login storm vs idle (HASH_CONCURRENCY=${cap1.cap})`, value: `${f1(cap1.stormP99)} vs ${f1(cap1.idleP99)} ms = ${f2(cap1.ratio)}`, target: '≤ 2', met: cap1.ratio <= 2 },
    { item: '5', what: `memory per pending handshake (${r.memory.openAtSample} pending)`, value: `${f2(r.memory.perPendingKiB)} KiB`, target: '≤ 16 KiB', met: r.memory.perPendingKiB <= 16 },
    { item: '5', what: 'pending handshakes closed by the handshake timeout', value: `${r.memory.pending - r.memory.stillOpen} of ${r.memory.pending} closed (${JSON.stringify(r.memory.closeCodes)})`, target: 'all', met: r.memory.stillOpen === 0 },
    { item: '5', what: 'memory returns after they close', value: `RSS idle ${f1(r.memory.idleRssKiB / 1024)} → pending ${f1(r.memory.pendingRssKiB / 1024)} → after ${f1(r.memory.afterRssKiB / 1024)} MiB; after a second burst ${f1(r.memory.secondAfterRssKiB / 1024)} MiB`, target: 'back near idle', met: r.memory.afterRssKiB <= r.memory.idleRssKiB + 0.25 * Math.max(0, r.memory.pendingRssKiB - r.memory.idleRssKiB) },
    { item: '6', what: `login p50, ${g1.users} vs ${g0.users} users`, value: `${f1(g1.p50)} vs ${f1(g0.p50)} ms = ${f2(g1.p50 / g0.p50)}`, target: 'flat (≤ 1.2)', met: g1.p50 / g0.p50 <= 1.2 },
    ...judgeBackends(r),
    ...judgeSoak(r.soak),
  ];
}

const mib = (bytes: number) => f1(bytes / 2 ** 20);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${f1(100 * x)} %`;
const count = (n: number) => n.toLocaleString('en-US');
const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** A measured figure: results saved as JSON hold null (or nothing) where the run had NaN. */
const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
/** Full collections during the soak (results from before 2026-11-22 13:05 do not have them). */
const fullGcs = (s: SoakResult) => (finite(s.fullGcs) ? count(s.fullGcs) : 'unknown');

/** Issue 12, item 6: RSS and heap flat over the soak (under +10 % from the first third to the last), no handle or listener leak. */
export function judgeSoak(s: SoakResult | undefined): Target[] {
  if (!s) return [];
  const [first, middle, last] = s.thirds;
  const maxListenerWarnings = s.warnings.MaxListenersExceededWarning ?? 0;
  return [
    { item: 'soak', what: `websocket handshakes on one server at c=${s.concurrency}, capped at ${f0(s.maxMs / 1000)} s`, value: `${count(s.handshakes)} in ${f0(s.elapsedMs / 1000)} s, ${f0(s.perSecond)}/s${s.capHit ? ', **time cap hit**' : ''}; ${total(s.errors)} errors`, target: `≥ ${count(s.target)}`, met: s.handshakes >= s.target },
    { item: 'soak', what: 'server RSS, median of the last third of the samples vs the first', value: `${mib(first?.rssBytes ?? NaN)} → ${mib(last?.rssBytes ?? NaN)} MiB = ${pct(s.rssGrowth)}`, target: '< +10 %', met: finite(s.rssGrowth) && s.rssGrowth < 0.1 },
    { item: 'soak', what: 'server V8 live heap (in use after the latest full collection), median of the last third vs the first', value: finite(s.liveHeapGrowth) ? `${mib(first?.liveHeapBytes ?? NaN)} → ${mib(last?.liveHeapBytes ?? NaN)} MiB = ${pct(s.liveHeapGrowth)} (${fullGcs(s)} full collections)` : `not measured: a third of the samples had no full collection (${fullGcs(s)} in all)`, target: '< +10 %', met: finite(s.liveHeapGrowth) && s.liveHeapGrowth < 0.1 },
    { item: 'soak', what: 'server V8 heap in use at the sample, anywhere on the collector\'s sawtooth', value: `${mib(first?.heapUsedBytes ?? NaN)} → ${mib(last?.heapUsedBytes ?? NaN)} MiB = ${pct(s.heapGrowth)}`, target: 'context, not the target', met: null },
    { item: 'soak', what: 'server active handles at rest, before vs after the soak', value: `${s.before.activeHandles} → ${s.after.activeHandles} (under load, medians by third: ${[first, middle, last].map((t) => f0(t?.activeHandles ?? NaN)).join(' / ')})`, target: 'no more after', met: s.after.activeHandles <= s.before.activeHandles },
    { item: 'soak', what: 'listeners on process and the emitters made at start-up; MaxListenersExceededWarning on stderr', value: `${s.before.listeners} at rest before, ${s.listenersMin}–${s.listenersMax} under load, ${s.after.listeners} after; ${maxListenerWarnings} warnings`, target: 'no more after, no warning', met: s.after.listeners <= s.before.listeners && maxListenerWarnings === 0 },
  ];
}

/** The soak's section of the report. */
export function renderSoak(s: SoakResult): string[] {
  const out: string[] = [];
  out.push(`## S. Soak: ${count(s.handshakes)} handshakes on one server`, '');
  out.push(`A fresh keygate (embedded, LOG_LEVEL=info, the audit log on) served ${count(s.warmupHandshakes)} warm-up handshakes, then ${count(s.handshakes)} more at concurrency ${s.concurrency} `
    + `in ${f0(s.elapsedMs / 1000)} s (${f0(s.perSecond)}/s; bounded at ${count(s.target)} handshakes and ${f0(s.maxMs / 1000)} s${s.capHit ? ': **the time cap was hit**' : ''}; the server counted ${count(s.serverHandshakes)}; errors ${JSON.stringify(s.errors)}). `
    + `Every ${f1(s.sampleEveryMs / 1000)} s the bench scraped the server's own GET /metrics (METRICS_TOKEN; prom-client's process_resident_memory_bytes, nodejs_heap_size_used_bytes, nodejs_active_handles_total, ...) `
    + 'and asked a probe preloaded into the server for bench runs only (bench/soak-probe.ts, on SIGUSR2) for the listeners on `process` and on every EventEmitter made before the server listened (the Koa app, the HTTP server, the WebSocketServer, the stores, the log stream, ...); '
    + `the server's stderr is watched for MaxListenersExceededWarning. ${s.samples.length} samples${s.sampleErrors ? ` (${s.sampleErrors} failed)` : ''}. `
    + 'Nothing forces a collection (the server runs without --expose-gc): growth compares the medians of the first and the last third of the samples. '
    + 'The heap is judged as the latest full (mark-compact) collection left it, as V8 records it at the end of each (v8.GCProfiler in the probe): the live heap, which a leak makes grow. The heap in use at a sample lands anywhere on the collector\'s sawtooth and is shown beside it. '
    + '"At rest" is read with no load and the generator\'s sockets closed.', '');
  out.push('| | samples | server handshake count at the end | RSS MiB | live heap MiB | heap used MiB | heap total MiB | external MiB | active handles | open sockets | listeners |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const rest = (name: string, r: SoakRest) => `| ${name} | 1 | ${count(r.handshakes)} | ${mib(r.rssBytes)} | ${mib(r.liveHeapBytes)} | ${mib(r.heapUsedBytes)} | ${mib(r.heapTotalBytes)} | ${mib(r.externalBytes)} | ${r.activeHandles} | ${r.openSockets} | ${r.listeners} |`;
  out.push(rest('at rest before', s.before));
  s.thirds.forEach((t, i) => out.push(`| ${['first', 'middle', 'last'][i]} third (medians) | ${t.samples} | ${count(t.handshakesAtEnd)} | ${mib(t.rssBytes)} | ${mib(t.liveHeapBytes)} | ${mib(t.heapUsedBytes)} | ${mib(t.heapTotalBytes)} | ${mib(t.externalBytes)} | ${f0(t.activeHandles)} | ${f0(t.openSockets)} | ${f0(t.listeners)} |`));
  out.push(rest('at rest after', s.after), '');
  out.push(`RSS ${pct(s.rssGrowth)}, live heap ${finite(s.liveHeapGrowth) ? pct(s.liveHeapGrowth) : 'not measured'}, heap in use at the sample ${pct(s.heapGrowth)} from the first third to the last; ${fullGcs(s)} full collections. `
    + `Handles at rest by type, before ${JSON.stringify(s.before.handlesByType)}, after ${JSON.stringify(s.after.handlesByType)}. `
    + `Listeners at rest by emitter type, before ${JSON.stringify(listenerTotals(s.before))}, after ${JSON.stringify(listenerTotals(s.after))}. `
    + `Process warnings on the server's stderr: ${Object.keys(s.warnings).length ? JSON.stringify(s.warnings) : 'none'}.`, '');
  const [c0, cn] = [s.chunks[0], s.chunks[s.chunks.length - 1]];
  if (c0 && cn) out.push(`Handshakes/s and p50 / p99 latency, first generator call of ${s.chunks.length} against the last: ${f0(c0.perSecond)}/s, ${f1(c0.p50)} / ${f1(c0.p99)} ms; ${f0(cn.perSecond)}/s, ${f1(cn.p50)} / ${f1(cn.p99)} ms.`, '');
  return out;
}

const listenerTotals = (r: SoakRest) => Object.fromEntries(Object.entries(r.listenersByType).map(([type, v]) => [type, v.listeners]));

/** Issue 9, item 8: two instances on PostgreSQL + Redis against the embedded default, and introspection against a bare Koa route. */
function judgeBackends(r: Omit<Results, 'targets'>): Target[] {
  const embedded = r.backends.find((b) => b.instances === 1 && b.name.startsWith('embedded'));
  const two = r.backends.find((b) => b.instances === 2);
  const out: Target[] = [];
  if (embedded && two) {
    const perInstance = two.handshakes.perSecond / two.instances / embedded.handshakes.perSecond;
    out.push({ item: 'B', what: 'handshakes/s per instance, two instances on PostgreSQL + Redis vs the embedded default', value: `${f0(two.handshakes.perSecond)} / 2 vs ${f0(embedded.handshakes.perSecond)} = ${f2(perInstance)}`, target: '≥ 0.85', met: perInstance >= 0.85 });
  }
  for (const b of r.backends) {
    out.push({ item: 'B', what: `introspections/s vs a bare Koa route, ${b.name}`, value: `${f0(b.introspections.perSecond)} vs ${f0(b.baseline.perSecond)} = ${f2(b.introspectionRatio)} (Ory Hydra publishes 5,109/s on 2 CPUs)`, target: '≥ 0.80', met: b.introspectionRatio >= 0.8 });
  }
  return out;
}

export function renderTargets(targets: Target[]): string[] {
  const out = ['## Targets', '', '| item | what | measured | target | verdict |', '| --- | --- | --- | --- | --- |'];
  for (const t of targets) out.push(`| ${t.item} | ${t.what} | ${t.value} | ${t.target} | ${mark(t.met)} |`);
  out.push('');
  return out;
}

export function renderMarkdown(r: Results, withFindings: boolean): string {
  const m = r.meta;
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(`Generated by \`${m.command}\` (bench/run.ts) on ${m.date}${m.smoke ? ' — **smoke run, tiny counts: figures are meaningless**' : ''}.`, '');
  out.push(`Machine: ${m.machine.cores} cores, ${m.machine.cpuModel}, ${m.machine.memTotalMiB} MiB RAM, Node ${m.machine.node} (${m.machine.platform}). `
    + `Load average at start ${m.loadavgStart.map(f2).join(' / ')}, at end ${m.loadavgEnd.map(f2).join(' / ')}. Wall time ${f0(m.wallSeconds)} s. `
    + `Every figure is the median of ${(m.params as Params).rounds} rounds; every ratio is the median of per-round ratios, each baseline measured next to its figure in the same run.`, '');
  for (const n of m.notes) out.push(`- ${n}`);
  if (m.notes.length) out.push('');

  out.push(...renderTargets(r.targets));

  out.push('## 1. Websocket handshakes vs a bare ws server', '');
  out.push(`Full Textile protocol over loopback, a fresh connection per handshake, real Ed25519 signatures made by the generator with node:crypto (1,000 distinct identities round-robin). `
    + `Baseline: a bare \`ws\` server in its own process doing the same three-message exchange with messages of the same sizes `
    + `(keygate ${JSON.stringify(r.messageSizes.keygate)}, baseline ${JSON.stringify(r.messageSizes.baseline)} bytes) and no auth work. `
    + `Latency: connect to token received. CPU: utime+stime of the server process from /proc per completed handshake.`, '');
  out.push(`Floor (one Ed25519 verify + one sign, node:crypto, same run): verify ${f1(r.floor.verifyUs)} µs + sign ${f1(r.floor.signUs)} µs = **${f1(r.floor.floorUs)} µs**.`
    + (r.floor.underLoad ? ` The same while the generator drives the bare ws server at the target concurrency on the other core: verify ${f1(r.floor.underLoad.verifyUs)} µs + sign ${f1(r.floor.underLoad.signUs)} µs = ${f1(r.floor.underLoad.floorUs)} µs.` : ''), '');
  out.push('| concurrency | keygate hs/s | baseline hs/s | ratio | keygate p50 / p99 ms | baseline p50 / p99 ms | p99 ratio | keygate CPU µs/hs | baseline CPU µs/hs | excess µs | excess / floor | generator CPU µs/hs (keygate / baseline) | errors |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const h of r.handshakes) {
    out.push(`| ${h.concurrency} | ${f0(h.keygate.perSecond)} | ${f0(h.baseline.perSecond)} | ${f2(h.throughputRatio)} | ${f1(h.keygate.p50)} / ${f1(h.keygate.p99)} | ${f1(h.baseline.p50)} / ${f1(h.baseline.p99)} | ${f2(h.p99Ratio)} | ${f0(h.keygate.cpuUs)} | ${f0(h.baseline.cpuUs)} | ${f0(h.cpuExcessUs)} | ${f2(h.cpuExcessUs / r.floor.floorUs)} | ${f0(h.keygate.generatorCpuUs)} / ${f0(h.baseline.generatorCpuUs)} | ${h.keygate.errors + h.baseline.errors} |`);
  }
  out.push('');
  const withRequired = r.handshakes.filter((h) => h.required && finite(h.requiredExcessUs) && finite(h.aboveRequiredUs));
  if (withRequired.length > 0) {
    out.push('The required-work reference (bench/baseline-required.ts, its own process, measured in the same rounds, the order rotating): bare ws\'s exchange plus only what the issues require of a handshake, '
      + 'written as tightly as it can be with keygate\'s libraries: the public key parsed once and remembered, a CSPRNG challenge, one Ed25519 verify, one EdDSA JWT with keygate\'s claims (node:crypto), '
      + 'the Hub-style answer with its API signature made once per expiry second, the info line (pino, one synchronous write), the audit row (batched SQLite inserts, WAL, synchronous=FULL) '
      + `and the metrics (prom-client), with accounts read from memory, the handshake timeout and the challenge's expiry. No store writes, rate limits, Origin checks, events or Koa: a lower bound. Its messages: ${JSON.stringify(r.messageSizes.required ?? {})} bytes. `
      + 'Its CPU above bare ws is what the requirements cost at least, on this machine; keygate\'s CPU above it is at most keygate\'s own. '
      + 'Each column is the median of its own per-round differences, so the two do not add up exactly to keygate\'s excess.', '');
    out.push('| concurrency | reference hs/s | reference CPU µs/hs | reference over baseline µs | / floor | keygate over reference µs | / floor | errors |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const h of withRequired) {
      out.push(`| ${h.concurrency} | ${f0(h.required!.perSecond)} | ${f0(h.required!.cpuUs)} | ${f0(h.requiredExcessUs!)} | ${f2(h.requiredExcessUs! / r.floor.floorUs)} | ${f0(h.aboveRequiredUs!)} | ${f2(h.aboveRequiredUs! / r.floor.floorUs)} | ${h.required!.errors} |`);
    }
    out.push('');
  }

  out.push('## 2. Ed25519 verification: node:crypto vs tweetnacl', '');
  out.push('Settled and no longer measured: see "Settled questions" in the findings below.', '');

  const l = r.logins;
  out.push('## 3. Password logins at saturation', '');
  out.push(`${l.concurrency} concurrent clients, POST /api/login over keep-alive, HASH_CONCURRENCY=${l.hashConcurrency}; raw rate: \`argon2.verify\` of the same PHC hash (argon2id, 19 MiB, t=2, p=1), ${l.hashConcurrency} at a time, in its own process, same run.`, '');
  out.push('| keygate logins/s | raw argon2id verifications/s | ratio | login p50 / p99 ms |', '| --- | --- | --- | --- |');
  out.push(`| ${f1(l.perSecond)} | ${f1(l.rawPerSecond)} | ${f2(l.ratio)} | ${f1(l.p50)} / ${f1(l.p99)} |`, '');

  out.push('## 4. Isolation: handshakes during a login storm', '');
  const iso = r.isolation[0];
  if (iso) out.push(`Handshakes at concurrency ${iso.wsConcurrency}; the storm is ${iso.stormConcurrency} concurrent login clients, which keep every hash slot busy and the queue non-empty.`, '');
  out.push('| HASH_CONCURRENCY | idle p50 / p99 ms | storm p50 / p99 ms | p99 ratio | logins/s during the storm | raw argon2id/s at that parallelism |', '| --- | --- | --- | --- | --- | --- |');
  for (const i of r.isolation) out.push(`| ${i.cap} | ${f1(i.idleP50)} / ${f1(i.idleP99)} | ${f1(i.stormP50)} / ${f1(i.stormP99)} | ${f2(i.ratio)} | ${f1(i.loginsPerSecond)} | ${f1(i.rawPerSecond)} |`);
  out.push('');

  const mem = r.memory;
  out.push('## 5. Memory of pending handshakes', '');
  out.push(`A fresh server (HANDSHAKE_TIMEOUT_MS=${mem.handshakeTimeoutMs}), warmed with a few hundred handshakes; ${mem.held} of ${mem.pending} handshakes opened in ${f0(mem.connectMs)} ms and left pending (challenge received, never signed). RSS from /proc/<pid>/status, median of 5 samples.`, '');
  out.push('| idle RSS | with pending handshakes | per pending handshake | right after the timeout closed them | after 1 s of traffic (GC) | growth returned | close codes |', '| --- | --- | --- | --- | --- | --- | --- |');
  out.push(`| ${f1(mem.idleRssKiB / 1024)} MiB | ${f1(mem.pendingRssKiB / 1024)} MiB (${mem.openAtSample} open) | **${f2(mem.perPendingKiB)} KiB** | ${f1(mem.closedRssKiB / 1024)} MiB | ${f1(mem.afterRssKiB / 1024)} MiB | ${f0(100 * mem.returnedFraction)} % | ${JSON.stringify(mem.closeCodes)} |`, '');
  out.push(`A second, identical burst on the same server: ${f1(mem.secondPendingRssKiB / 1024)} MiB while pending, ${f1(mem.secondAfterRssKiB / 1024)} MiB after (first burst: ${f1(mem.pendingRssKiB / 1024)} / ${f1(mem.afterRssKiB / 1024)} MiB). RSS that does not grow again is memory the process reuses, not a leak.`, '');

  out.push('## 6. Growth', '');
  out.push('Login latency one request at a time (no queueing) against stores seeded with N users (one real argon2id hash reused, so every login does the full verification):', '');
  out.push('| users in the store | login p50 ms | login p99 ms | logins/s (one client) |', '| --- | --- | --- | --- |');
  for (const g of r.growth) out.push(`| ${g.users.toLocaleString('en-US')} | ${f1(g.p50)} | ${f1(g.p99)} | ${f1(g.perSecond)} |`);
  out.push('');
  out.push('Handshake throughput and latency as concurrency grows (from section 1):', '');
  out.push('| concurrency | keygate hs/s | keygate p50 / p99 ms | keygate CPU µs/hs | baseline hs/s | baseline p50 / p99 ms |', '| --- | --- | --- | --- | --- | --- |');
  for (const h of r.handshakes) out.push(`| ${h.concurrency} | ${f0(h.keygate.perSecond)} | ${f1(h.keygate.p50)} / ${f1(h.keygate.p99)} | ${f0(h.keygate.cpuUs)} | ${f0(h.baseline.perSecond)} | ${f1(h.baseline.p50)} / ${f1(h.baseline.p99)} |`);
  out.push('');

  out.push('## B. Backends: the embedded default against PostgreSQL + Redis', '');
  out.push('Each configuration starts fresh (users seeded through the record store contract; throwaway PostgreSQL and Redis on loopback), rate limits on with points no run reaches, so every request pays for its counters where they live. '
    + 'Introspections draw from a pool of live tokens of distinct handshakes, keep-alive; the bare Koa route (koa-bodyparser on the same JSON body, a constant answer) runs in its own process, measured next to each introspection run with the same generator. '
    + 'CPU: utime+stime of every keygate instance of the configuration, per completed operation. Load over two instances is spread round-robin by connection.', '');
  out.push('| configuration | handshakes/s (p50 / p99 ms, CPU µs) | logins/s (p50 / p99 ms, CPU µs) | refreshes/s (p50 / p99 ms, CPU µs) | introspections/s (p50 / p99 ms, CPU µs) | bare Koa route/s | introspection ratio |', '| --- | --- | --- | --- | --- | --- | --- |');
  const op = (o: { perSecond: number; p50: number; p99: number; cpuUs: number }) => `${f0(o.perSecond)} (${f1(o.p50)} / ${f1(o.p99)}, ${f0(o.cpuUs)})`;
  for (const b of r.backends) out.push(`| ${b.name} | ${op(b.handshakes)} | ${op(b.logins)} | ${op(b.refreshes)} | ${op(b.introspections)} | ${f0(b.baseline.perSecond)} | ${f2(b.introspectionRatio)} |`);
  out.push('', 'For reference, Ory Hydra publishes 5,109 introspections/s on 2 CPUs (its own hardware and generator).', '');

  if (r.soak) out.push(...renderSoak(r.soak));

  if (r.profile) {
    out.push('## CPU profile of the server (this run, --profile)', '', `\`${r.profile.file}\`, self time:`, '', '| % | ms | function | where |', '| --- | --- | --- | --- |');
    for (const t of r.profile.top) out.push(`| ${f1(t.pct)} | ${t.selfMs} | ${t.fn} | ${t.where} |`);
    out.push('');
  }

  const findings = join(BENCH_DIR, 'FINDINGS.md');
  if (withFindings && existsSync(findings)) out.push(readFileSync(findings, 'utf8').trim(), '');
  return out.join('\n');
}

/** Writes bench/results/<stamp>.json (+ latest.json) and, for full runs, docs/BENCHMARKS.md. */
export function writeReports(r: Results): { json: string; markdown?: string } {
  const dir = join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = r.meta.date.replace(/[:.]/g, '-');
  const json = join(dir, `${r.meta.smoke ? 'smoke-' : ''}${stamp}.json`);
  const text = JSON.stringify(r, null, 2);
  writeFileSync(json, text);
  writeFileSync(join(dir, r.meta.smoke ? 'latest-smoke.json' : 'latest.json'), text);
  if (r.meta.smoke) return { json };
  const markdown = join(ROOT, 'docs', 'BENCHMARKS.md');
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(markdown, renderMarkdown(r, true));
  return { json, markdown };
}
