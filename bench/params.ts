/** Counts and durations of the full benchmark and of the smoke run. Every loop is bounded by these. */
/** The generator's distinct identities (bench/ws-load.ts), each logged in once before handshakes are measured. */
export const KEY_POOL = 1000;

export interface Params {
  /** Kill everything and fail past this. */
  deadlineMs: number;
  rounds: number;
  floorOps: number;
  concurrencies: number[];
  /** The concurrency the handshake targets are judged at. */
  targetConcurrency: number;
  handshakeMs: number;
  maxHandshakes: number;
  warmupMs: number;
  loginConcurrency: number;
  loginMs: number;
  maxLogins: number;
  loginUsers: number;
  isolationConcurrency: number;
  isolationMs: number;
  stormConcurrency: number;
  hashCaps: number[];
  /** Users in the big store; the small one is the main server's loginUsers. */
  growthUsers: number;
  growthMs: number;
  pendingHandshakes: number;
  pendingParallel: number;
  /** HANDSHAKE_TIMEOUT_MS of the memory server: long enough to open them all, short enough to wait out. */
  pendingTimeoutMs: number;
  /** Backends: each operation's run, and its bounds. */
  backendMs: number;
  maxRequests: number;
  /** Distinct live tokens the introspections draw from. */
  introspectTokens: number;
  introspectConcurrency: number;
  /** Refresh chains (one login each), one connection each. */
  refreshChains: number;
  /** The soak (full run and `--only soak`; never the smoke run): handshakes to complete on one server at targetConcurrency, */
  soakHandshakes: number;
  /** and the time cap on them (past it the soak stops and reports that the cap was hit). */
  soakMaxMs: number;
  /** Handshakes before the first sample (accounts of the generator's keys, JIT, pools). */
  soakWarmupHandshakes: number;
  /** One generator call's length; the server is sampled every soakSampleMs throughout. */
  soakChunkMs: number;
  soakSampleMs: number;
}

export const FULL: Params = {
  // About 6 minutes of phases, plus the soak's cap, plus a minute.
  deadlineMs: 1_140_000,
  rounds: 3,
  floorOps: 3000,
  concurrencies: [1, 10, 50, 200],
  targetConcurrency: 50,
  handshakeMs: 2000,
  maxHandshakes: 100_000,
  warmupMs: 1000,
  loginConcurrency: 8,
  loginMs: 3000,
  maxLogins: 10_000,
  loginUsers: 1000,
  isolationConcurrency: 10,
  isolationMs: 2500,
  stormConcurrency: 16,
  hashCaps: [1, 2],
  growthUsers: 100_000,
  growthMs: 2500,
  pendingHandshakes: 5000,
  pendingParallel: 100,
  pendingTimeoutMs: 15_000,
  backendMs: 2000,
  maxRequests: 200_000,
  introspectTokens: 300,
  introspectConcurrency: 50,
  refreshChains: 16,
  soakHandshakes: 300_000,
  soakMaxMs: 600_000,
  soakWarmupHandshakes: 10_000,
  soakChunkMs: 15_000,
  soakSampleMs: 3000,
};

export const SMOKE: Params = {
  deadlineMs: 120_000,
  rounds: 1,
  floorOps: 200,
  concurrencies: [1, 10],
  targetConcurrency: 10,
  handshakeMs: 300,
  maxHandshakes: 500,
  warmupMs: 200,
  loginConcurrency: 2,
  loginMs: 400,
  maxLogins: 50,
  loginUsers: 50,
  isolationConcurrency: 2,
  isolationMs: 400,
  stormConcurrency: 4,
  hashCaps: [1],
  growthUsers: 500,
  growthMs: 300,
  pendingHandshakes: 50,
  pendingParallel: 10,
  pendingTimeoutMs: 2000,
  backendMs: 300,
  maxRequests: 2000,
  introspectTokens: 20,
  introspectConcurrency: 5,
  refreshChains: 2,
  // Only for `--smoke --only soak` (trying the soak code quickly); `npm run bench:smoke` runs no soak.
  soakHandshakes: 3000,
  soakMaxMs: 30_000,
  soakWarmupHandshakes: 500,
  soakChunkMs: 3000,
  soakSampleMs: 500,
};
