/** Shapes of what the workers answer and of the result file. */
import type { LatencySummary } from './lib.js';
import type { ProbeLine } from './soak-probe.js';

export interface HandshakeRun {
  ok: number;
  errors: Record<string, number>;
  elapsedMs: number;
  perSecond: number;
  latency: LatencySummary;
  generatorCpuMs: number;
}

export interface LoginRun {
  ok: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  perSecond: number;
  latency: LatencySummary;
}

/** One measured side (keygate or baseline) of a handshake round. */
export interface HandshakeSide {
  perSecond: number;
  p50: number;
  p99: number;
  /** Server process CPU (utime + stime) per completed handshake, µs. */
  cpuUs: number;
  /** Generator CPU per completed handshake, µs. */
  generatorCpuUs: number;
  errors: number;
}

export interface HandshakeRow {
  concurrency: number;
  keygate: HandshakeSide;
  baseline: HandshakeSide;
  /** Medians over rounds of the per-round (paired) ratios and differences. */
  throughputRatio: number;
  p99Ratio: number;
  cpuExcessUs: number;
  /** The required-work reference (bench/baseline-required.ts; results from before 2026-11-22 14:49 do not have it). */
  required?: HandshakeSide;
  /** Its CPU above bare ws, and keygate's above it: medians of the per-round differences. */
  requiredExcessUs?: number;
  aboveRequiredUs?: number;
  rounds: { keygate: HandshakeSide; baseline: HandshakeSide; required?: HandshakeSide }[];
}

/** One operation measured against one backend configuration (medians over rounds). */
export interface BackendOp {
  perSecond: number;
  p50: number;
  p99: number;
  /** Server CPU (every instance, utime + stime) per completed operation, µs. */
  cpuUs: number;
}

export interface BackendRow {
  name: string;
  instances: number;
  handshakes: BackendOp;
  logins: BackendOp;
  refreshes: BackendOp;
  introspections: BackendOp;
  /** The bare Koa route, same generator, same run. */
  baseline: BackendOp;
  /** Median of the per-round introspections/s over the bare route's. */
  introspectionRatio: number;
}

/** One reading of the soak's server: its own /metrics and the listener probe. */
export interface SoakSample {
  /** Since the soak began (after the warm-up), ms. */
  tMs: number;
  /** Handshakes the server has ended with a token since it started (keygate_handshake_duration_seconds_count). */
  handshakes: number;
  /** process_resident_memory_bytes */
  rssBytes: number;
  /** nodejs_heap_size_used_bytes, nodejs_heap_size_total_bytes, nodejs_external_memory_bytes */
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  /** The heap in use after the latest full collection (bench/soak-probe.ts); in the soak's samples, NaN unless a full collection ran since the sample before. */
  liveHeapBytes: number;
  /** Full collections since the server started (bench/soak-probe.ts). */
  fullGcs: number;
  /** nodejs_active_handles_total, nodejs_active_resources_total */
  activeHandles: number;
  activeResources: number;
  /** keygate_open_sockets, keygate_pending_handshakes */
  openSockets: number;
  pendingHandshakes: number;
  /** Listeners on process and on the EventEmitters made before the server listened (bench/soak-probe.ts), and how many of those emitters are alive. */
  listeners: number;
  emitters: number;
}

/** The server at rest (no load, its sockets closed), before or after the soak. */
export interface SoakRest extends SoakSample {
  /** nodejs_active_handles by type. */
  handlesByType: Record<string, number>;
  listenersByType: ProbeLine['byType'];
}

/** Medians over one third of the samples. */
export interface SoakThird {
  samples: number;
  /** The server's handshake counter at the third's last sample. */
  handshakesAtEnd: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  /** Over the samples with a full collection since the sample before; NaN if the third had none. */
  liveHeapBytes: number;
  activeHandles: number;
  openSockets: number;
  listeners: number;
}

export interface SoakResult {
  /** Bounds: the handshakes aimed for, and the time cap. */
  target: number;
  maxMs: number;
  capHit: boolean;
  concurrency: number;
  warmupHandshakes: number;
  /** Completed (token received) during the soak, as the generator counts them and as the server does. */
  handshakes: number;
  serverHandshakes: number;
  errors: Record<string, number>;
  elapsedMs: number;
  perSecond: number;
  /** One per generator call, in order. */
  chunks: { ok: number; perSecond: number; p50: number; p99: number }[];
  sampleEveryMs: number;
  sampleErrors: number;
  samples: SoakSample[];
  thirds: SoakThird[];
  /** Median of the last third over the first, minus 1. */
  rssGrowth: number;
  /** Of the heap in use when sampled (anywhere on the collector's sawtooth), and of the live heap (after the latest full collection). */
  heapGrowth: number;
  liveHeapGrowth: number;
  /** Full collections during the soak, as the probe counted them. */
  fullGcs: number;
  listenersMin: number;
  listenersMax: number;
  before: SoakRest;
  after: SoakRest;
  /** Process warnings (MaxListenersExceededWarning, ...) the server printed on stderr, by name. */
  warnings: Record<string, number>;
}

export interface Target {
  item: string;
  what: string;
  value: string;
  target: string;
  met: boolean | null;
}

export interface Results {
  meta: {
    date: string;
    command: string;
    smoke: boolean;
    machine: { cores: number; cpuModel: string; node: string; platform: string; memTotalMiB: number };
    loadavgStart: number[];
    loadavgEnd: number[];
    wallSeconds: number;
    params: object;
    notes: string[];
  };
  floor: {
    verifyUs: number; signUs: number; floorUs: number; rounds: object[];
    /** The same measurement while the generator drives the bare ws server at the target concurrency (the contention a server under load runs in). */
    underLoad?: { verifyUs: number; signUs: number; floorUs: number; rounds: object[] };
  };
  messageSizes: { keygate: object; baseline: object; required?: object };
  handshakes: HandshakeRow[];
  logins: { concurrency: number; hashConcurrency: number; perSecond: number; rawPerSecond: number; ratio: number; p50: number; p99: number; rounds: object[] };
  isolation: { cap: number; wsConcurrency: number; stormConcurrency: number; idleP99: number; stormP99: number; ratio: number; idleP50: number; stormP50: number; loginsPerSecond: number; rawPerSecond: number; rounds: object[] }[];
  growth: { users: number; p50: number; p99: number; perSecond: number; rounds: object[] }[];
  memory: {
    pending: number;
    held: number;
    openAtSample: number;
    connectMs: number;
    idleRssKiB: number;
    pendingRssKiB: number;
    /** Right after the last pending handshake was closed. */
    closedRssKiB: number;
    /** After a little traffic, which lets the garbage collector run. */
    afterRssKiB: number;
    /** The same burst again: RSS while pending and after. */
    secondPendingRssKiB: number;
    secondAfterRssKiB: number;
    perPendingKiB: number;
    returnedFraction: number;
    closeCodes: Record<string, number>;
    stillOpen: number;
    handshakeTimeoutMs: number;
  };
  backends: BackendRow[];
  profile?: { file: string; top: { fn: string; where: string; selfMs: number; pct: number }[] };
  /** Full runs only (not the smoke run). */
  soak?: SoakResult;
  targets: Target[];
}
