/**
 * Work the core writes to the record store off the request's hot path (audit events,
 * last-login stamps), one batch at a time: every `everyMs`, at once when asked (a full queue,
 * a test, shutdown), and on close. A batch that fails goes back to its queue and is retried by
 * the next flush. A flush that finds another caller's batch under way waits for it and then
 * writes its own, whatever that batch's outcome: it rejects only with the failure of a batch
 * it wrote itself.
 */
import { StoreError } from '../errors.js';

/** A queue a BatchWriter empties. */
export interface BatchQueue<B> {
  /** Takes the next batch out of the queue, or undefined when nothing waits. */
  take(): B | undefined;
  write(batch: B): Promise<void>;
  /** A batch that could not be written goes back, to be retried. */
  putBack(batch: B): void;
}

export class BatchWriter<B> {
  private writing: Promise<void> | undefined;
  private current: B | undefined;
  private background: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  /** `onError` hears of every failed batch but those of a store that is away (expected, and retried). */
  constructor(private readonly queue: BatchQueue<B>, everyMs: number, private readonly onError: (err: unknown) => void = () => undefined) {
    this.timer = setInterval(() => this.flushSoon(), everyMs);
    this.timer.unref();
  }

  /** The batch being written now, if any: still its owner's to show until it is in the store. */
  get inFlight(): B | undefined {
    return this.current;
  }

  /**
   * Starts a flush without waiting for it (its failure is reported to `onError`). One at a time:
   * while a write hangs, the timer's ticks and full queues do not pile up flushes behind it.
   */
  flushSoon(): void {
    this.background ??= this.flush().catch(() => undefined).finally(() => (this.background = undefined));
  }

  /** Writes everything queued so far, a batch at a time; resolves when it is in the store. */
  async flush(): Promise<void> {
    for (;;) {
      while (this.writing) await this.writing.catch(() => undefined);
      const batch = this.queue.take();
      if (batch === undefined) return;
      this.current = batch;
      // Through a promise, so that a write that throws at once still puts its batch back.
      this.writing = Promise.resolve().then(() => this.queue.write(batch)).then(
        () => {
          this.current = undefined;
        },
        (err: unknown) => {
          // No longer in flight before it is queued again, so that it is never counted twice.
          this.current = undefined;
          this.queue.putBack(batch);
          if (!(err instanceof StoreError && err.code === 'unavailable')) this.onError(err);
          throw err;
        },
      ).finally(() => (this.writing = undefined));
      await this.writing;
    }
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
