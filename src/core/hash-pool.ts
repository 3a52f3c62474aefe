/**
 * A bounded pool for password hashing: at most `concurrency` hashes run at once so that
 * a login storm cannot take every core from websocket handshakes; at most `maxQueue`
 * wait, each for at most `maxWaitMs`; past that the caller gets `server_busy`.
 */
import { AuthError } from '../errors.js';

export interface HashPoolOptions {
  concurrency: number;
  maxQueue: number;
  maxWaitMs: number;
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

export class HashPool {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly options: HashPoolOptions) {
    if (options.concurrency < 1) throw new TypeError('concurrency must be at least 1');
  }

  /** Jobs running and waiting now. */
  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.queue.length };
  }

  /** Runs `job` when a slot is free; rejects with server_busy if the queue is full or the wait too long. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.options.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(new AuthError('server_busy', 'Too many logins in progress; try again shortly.', { retryAfter: 1 }));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          this.queue.splice(this.queue.indexOf(waiter), 1);
          reject(new AuthError('server_busy', 'Too many logins in progress; try again shortly.', { retryAfter: 1 }));
        }, this.options.maxWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next.start(); // the slot passes straight to the next waiter
    else this.running--;
  }
}
