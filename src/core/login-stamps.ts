/**
 * Last-login stamps, written without a commit per login: the stamps of every login of the last
 * LOGIN_STAMP_FLUSH_MS are written together, in one commit. The instance that serves a login
 * shows its stamp at once, queued or being written; other instances read it within that time.
 */
import type { RecordStore } from '../store/records.js';
import { BatchWriter } from './batch-writer.js';

/** How often the last-login stamps of recent logins are written, all in one commit. */
export const LOGIN_STAMP_FLUSH_MS = 1000;
/** Limit: stamps waiting to be written; at this many they are written at once. */
export const LOGIN_STAMP_BATCH_MAX = 1000;

/** account id -> time of its last login (ms). */
type Stamps = Map<string, number>;

export class LoginStamps {
  private waiting: Stamps = new Map();
  /** Accounts deleted while their stamp was being written: a failed write does not queue it again. */
  private readonly dropped = new Set<string>();
  private readonly writer: BatchWriter<Stamps>;

  constructor(private readonly store: RecordStore, onError?: (err: unknown) => void) {
    this.writer = new BatchWriter<Stamps>({ take: () => this.take(), write: (batch) => this.write(batch), putBack: (batch) => this.putBack(batch) }, LOGIN_STAMP_FLUSH_MS, onError);
  }

  /** Queues an account's stamp; a newer one replaces it. A login never waits for the write, nor fails with it. */
  record(id: string, at: number): void {
    this.waiting.set(id, at);
    if (this.waiting.size >= LOGIN_STAMP_BATCH_MAX) this.writer.flushSoon();
  }

  /** This instance's stamp of an account that is not in the store yet (queued or being written). */
  of(id: string): number | undefined {
    return this.waiting.get(id) ?? (this.dropped.has(id) ? undefined : this.writer.inFlight?.get(id));
  }

  /** Drops a deleted account's stamp, so it cannot land on a new account made later with the same id. */
  forget(id: string): void {
    this.waiting.delete(id);
    if (this.writer.inFlight?.has(id)) this.dropped.add(id);
  }

  /** Writes the stamps queued so far; rejects only with the failure of its own batch. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  private take(): Stamps | undefined {
    if (this.waiting.size === 0) return undefined;
    const batch = this.waiting;
    this.waiting = new Map();
    this.dropped.clear();
    return batch;
  }

  private write(batch: Stamps): Promise<void> {
    // In id order, so that two instances writing overlapping batches lock rows in one order.
    const stamps = [...batch].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, at]) => ({ id, at }));
    return this.store.recordLogins(stamps);
  }

  /** A failed batch's stamps wait again, unless a newer stamp replaced them or their account was deleted. */
  private putBack(batch: Stamps): void {
    for (const [id, at] of batch) if (!this.waiting.has(id) && !this.dropped.has(id)) this.waiting.set(id, at);
    this.dropped.clear();
  }
}
