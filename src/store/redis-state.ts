/**
 * Short-lived state shared by every instance, on Redis (REDIS_URL=redis://...), with
 * ioredis. Commands fail fast while Redis is away (no offline queue, a command timeout)
 * and the client reconnects by itself; the rate limiters count per instance meanwhile.
 */
import { Redis, ReplyError } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { StoreError } from '../errors.js';
import type { LimiterOptions, StateStore } from './state.js';

export interface RedisStateOptions {
  /** Prefix of every key and channel, so several deployments can share one Redis. */
  prefix: string;
  /** Longest wait for a connection or a command, in ms. */
  timeoutMs: number;
}

/** Reconnection back-off: 100 ms more per attempt, at most 1 s between attempts. */
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 1000);

function unavailable(err: unknown): StoreError {
  return new StoreError('unavailable', `Redis is unavailable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

export class RedisStateStore implements StateStore {
  readonly kind = 'redis';
  private subscriber: Redis | undefined;
  private readonly resyncs = new Set<() => void>();

  private constructor(private readonly client: Redis, private readonly options: RedisStateOptions) {}

  /** Connects; rejects with StoreError('unavailable') if Redis does not answer within the timeout. */
  static async open(url: string, options: RedisStateOptions): Promise<RedisStateStore> {
    const client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
      retryStrategy,
    });
    client.on('error', () => undefined); // reported through the commands that fail; it reconnects by itself
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      throw unavailable(err);
    }
    return new RedisStateStore(client, options);
  }

  private key(key: string): string {
    return this.options.prefix + key;
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      // A ReplyError is Redis refusing the command itself: a bug, not an outage.
      if (err instanceof ReplyError) throw err;
      throw unavailable(err);
    }
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.run(() => this.client.get(this.key(key)))) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run(() => this.client.set(this.key(key), value, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.run(() => this.client.set(this.key(key), value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'))) === 'OK';
  }

  async take(key: string): Promise<string | undefined> {
    return (await this.run(() => this.client.getdel(this.key(key)))) ?? undefined;
  }

  async delete(key: string): Promise<void> {
    await this.run(() => this.client.del(this.key(key)));
  }

  limiter({ keyPrefix, points, durationS }: LimiterOptions): RateLimiterAbstract {
    const common = { keyPrefix: `${this.options.prefix}${keyPrefix}`, points, duration: durationS };
    return new RateLimiterRedis({
      ...common,
      storeClient: this.client,
      // Not ready (reconnecting): count in this instance at once rather than wait.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(common),
    });
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run(() => this.client.publish(this.key(channel), message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void, onResync?: () => void): Promise<() => Promise<void>> {
    const subscriber = await this.subscriberConnection();
    const name = this.key(channel);
    const listener = (from: string, message: string) => {
      if (from === name) onMessage(message);
    };
    subscriber.on('message', listener);
    if (onResync) this.resyncs.add(onResync);
    await this.run(() => subscriber.subscribe(name));
    return async () => {
      subscriber.off('message', listener);
      if (onResync) this.resyncs.delete(onResync);
      await subscriber.unsubscribe(name).catch(() => undefined);
    };
  }

  /** One connection for every subscription (a subscribed connection can do nothing else). */
  private async subscriberConnection(): Promise<Redis> {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    subscriber.on('error', () => undefined);
    let cutOff = false;
    subscriber.on('close', () => (cutOff = true));
    subscriber.on('ready', () => {
      if (!cutOff) return;
      cutOff = false;
      // ioredis subscribes again by itself; what was published meanwhile is lost.
      for (const resync of this.resyncs) resync();
    });
    this.subscriber = subscriber;
    await this.run(() => subscriber.connect());
    return subscriber;
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping());
  }

  async close(): Promise<void> {
    this.resyncs.clear();
    this.subscriber?.disconnect();
    this.client.disconnect();
  }
}
