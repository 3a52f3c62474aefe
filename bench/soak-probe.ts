/**
 * Bench-only: preloaded into the soak's keygate (`node --import <this file, compiled> dist/main.js`;
 * bench/soak.ts compiles it with esbuild into bench/results/). It counts event listeners in the
 * server process, which nothing else exposes:
 *
 * - every EventEmitter constructed from the start of the process until its first server
 *   listens: the long-lived ones (the Koa app, the HTTP server, the WebSocketServer, the log's
 *   stream, the stores' clients, ...), held through WeakRefs so that start-up garbage may go;
 * - `process` itself.
 *
 * On SIGUSR2 it writes one line to stderr: PROBE_PREFIX and JSON with the listener count of
 * each event of those emitters that are still alive, summed by constructor name, and the total.
 * A listener leak on a long-lived emitter shows as a total that grows with the handshakes.
 *
 * It also watches the collector: the line carries the V8 heap in use as the latest full
 * (mark-compact) collection left it, as V8 itself records it at the end of the collection
 * (v8.GCProfiler). A sample of the heap taken at any other moment lands anywhere on the
 * collector's sawtooth (in one run from 26 to 75 MiB within a minute); what a full collection
 * leaves is the live heap, the figure a leak makes grow.
 */
import { EventEmitter } from 'node:events';
import { Server } from 'node:net';
import { GCProfiler } from 'node:v8';

/** Keep equal to PROBE_PREFIX in bench/server.ts (this file is compiled alone and imports nothing of ours). */
const PREFIX = 'keygate-bench-probe ';

const startup: WeakRef<EventEmitter>[] = [];
let recording = true;

type Init = (this: EventEmitter, opts?: unknown) => void;
const emitterStatics = EventEmitter as unknown as { init: Init };
const init = emitterStatics.init;
emitterStatics.init = function (this: EventEmitter, opts?: unknown) {
  init.call(this, opts);
  if (recording) startup.push(new WeakRef(this));
};

const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  this.once('listening', () => {
    recording = false;
    emitterStatics.init = init;
  });
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof listen;

export interface ProbeLine {
  seq: number;
  /** Emitters counted: process plus the start-up emitters still alive. */
  emitters: number;
  /** Listeners on all of them. */
  listeners: number;
  /** By constructor name (only names with listeners): emitters, listeners, and listeners per event. */
  byType: Record<string, { emitters: number; listeners: number; events: Record<string, number> }>;
  /** Full collections since the probe started, and the heap in use after the latest (null before the first). */
  fullGcs: number;
  liveHeapBytes: number | null;
}

let fullGcs = 0;
let liveHeapBytes: number | null = null;
let profiler = new GCProfiler();
profiler.start();

/** Reads the collections recorded since the last call (V8's figures from the end of each) and starts recording again. */
function readCollections(): void {
  const recorded = profiler.stop();
  profiler = new GCProfiler();
  profiler.start();
  for (const gc of recorded?.statistics ?? []) {
    if (gc.gcType !== 'MarkSweepCompact') continue;
    fullGcs++;
    liveHeapBytes = gc.afterGC.heapStatistics.usedHeapSize;
  }
}

let seq = 0;
process.on('SIGUSR2', () => {
  readCollections();
  const seen = new Set<EventEmitter>([process]);
  for (const ref of startup) {
    const e = ref.deref();
    if (e) seen.add(e);
  }
  const line: ProbeLine = { seq: ++seq, emitters: seen.size, listeners: 0, byType: {}, fullGcs, liveHeapBytes };
  for (const e of seen) {
    const names = e.eventNames();
    if (names.length === 0) continue;
    const type = e === process ? 'process' : e.constructor?.name || 'anonymous';
    const entry = (line.byType[type] ??= { emitters: 0, listeners: 0, events: {} });
    entry.emitters++;
    for (const name of names) {
      const n = e.listenerCount(name);
      const key = String(name);
      entry.events[key] = (entry.events[key] ?? 0) + n;
      entry.listeners += n;
      line.listeners += n;
    }
  }
  process.stderr.write(`${PREFIX}${JSON.stringify(line)}\n`);
});
