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
 */
import { EventEmitter } from 'node:events';
import { Server } from 'node:net';

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
}

let seq = 0;
process.on('SIGUSR2', () => {
  const seen = new Set<EventEmitter>([process]);
  for (const ref of startup) {
    const e = ref.deref();
    if (e) seen.add(e);
  }
  const line: ProbeLine = { seq: ++seq, emitters: seen.size, listeners: 0, byType: {} };
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
