/**
 * The contract of short-lived shared state: values that expire by themselves (single-use
 * challenges, login requests), counters of the rate limits and lockouts, and messages
 * between instances (key rotations, revocations). In one process it lives in memory; with
 * REDIS_URL every instance shares it. Both pass test/store/state-contract.ts unchanged.
 *
 * Rules every backend keeps:
 * - Keys and values are strings; every value has a time to live and is gone after it.
 * - {@link StateStore.take} and {@link StateStore.add} are atomic: of any number of racing
 *   callers, on any instance, exactly one takes a value or adds a key.
 * - A backend that does not answer rejects with StoreError('unavailable') within its timeout,
 *   except the rate limiters, which fall back to per-instance counting while it is away.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

export interface LimiterOptions {
  /** Names the counter family (e.g. 'addr'); keys of different families never mix. */
  keyPrefix: string;
  /** Points allowed per window. */
  points: number;
  /** The window, in seconds. */
  durationS: number;
}

export interface StateStore {
  /** 'memory' or 'redis', for logs and health. */
  readonly kind: string;

  /** The value of a key that has not expired. */
  get(key: string): Promise<string | undefined>;
  /** Sets a value that expires after `ttlMs` (replacing any value). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets a value only if the key has none; true for the one caller that set it. */
  add(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Reads and deletes a value in one step: exactly one of any number of racing callers gets it. */
  take(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;

  /**
   * A rate limiter (rate-limiter-flexible) whose counters live in this store: shared by every
   * instance on Redis. While Redis is away it counts per instance (its insurance limiter)
   * instead of failing, and goes back to the shared counters when Redis returns.
   */
  limiter(options: LimiterOptions): RateLimiterAbstract;

  /** Sends a message to every subscriber of `channel`, on every instance. At most once. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `onMessage` for each message on `channel`. Messages sent while this instance was
   * cut off are lost: `onResync` is called when the subscription is back after a gap, so
   * the subscriber can reload whatever it keeps. Resolves with an unsubscribe function.
   */
  subscribe(channel: string, onMessage: (message: string) => void, onResync?: () => void): Promise<() => Promise<void>>;

  /** Resolves when the backend answers (health checks). */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
