/** Short-lived state in this process's memory: the default when keygate runs alone. */
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LimiterOptions, StateStore } from './state.js';

/** How often expired values are swept out (they are never returned after expiry in any case). */
export const SWEEP_INTERVAL_MS = 60_000;

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory';
  private readonly values = new Map<string, { value: string; expiresAt: number }>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = () => Date.now()) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  private live(key: string): string | undefined {
    const entry = this.values.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return entry.value;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, { expiresAt }] of this.values) if (expiresAt <= now) this.values.delete(key);
  }

  async get(key: string): Promise<string | undefined> {
    return this.live(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.values.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.live(key) !== undefined) return false;
    this.values.set(key, { value, expiresAt: this.now() + ttlMs });
    return true;
  }

  async take(key: string): Promise<string | undefined> {
    const value = this.live(key);
    this.values.delete(key);
    return value;
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }

  limiter({ keyPrefix, points, durationS }: LimiterOptions): RateLimiterAbstract {
    return new RateLimiterMemory({ keyPrefix, points, duration: durationS });
  }

  async publish(channel: string, message: string): Promise<void> {
    for (const handler of this.channels.get(channel) ?? []) queueMicrotask(() => handler(message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    let handlers = this.channels.get(channel);
    if (!handlers) this.channels.set(channel, (handlers = new Set()));
    handlers.add(onMessage);
    return async () => {
      handlers.delete(onMessage);
    };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.values.clear();
    this.channels.clear();
  }
}
