/** Shapes of what the workers answer and of the result file. */
import type { LatencySummary } from './lib.js';

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
  rounds: { keygate: HandshakeSide; baseline: HandshakeSide }[];
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
  floor: { verifyUs: number; signUs: number; floorUs: number; rounds: object[] };
  messageSizes: { keygate: object; baseline: object };
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
  targets: Target[];
}
