/**
 * The batch writer behind the audit log and the last-login stamps (src/core/batch-writer.ts),
 * and the stamp queue on it (src/core/login-stamps.ts), against a queue whose writes the test
 * lets succeed or fail one by one.
 */
import { expect } from 'chai';
import { BatchWriter } from '../src/core/batch-writer.js';
import { LoginStamps } from '../src/core/login-stamps.js';
import { StoreError } from '../src/errors.js';
import type { RecordStore } from '../src/store/records.js';
import { within } from './helpers/poll.js';

/** A queue of numbers, written two at a time; each write waits for the test to settle it. */
class Held {
  queue: number[] = [];
  written: number[][] = [];
  pending: Array<{ batch: number[]; ok: () => void; fail: (err: unknown) => void }> = [];

  take = () => (this.queue.length === 0 ? undefined : this.queue.splice(0, 2));
  putBack = (batch: number[]) => void this.queue.unshift(...batch);
  write = (batch: number[]) => new Promise<void>((resolve, reject) => {
    this.pending.push({ batch, ok: () => {
      this.written.push(batch);
      resolve();
    }, fail: reject });
  });

  /** Settles the next write once it has begun. */
  async settle(outcome: 'ok' | Error): Promise<number[]> {
    await within(2000, 'a write begins', async () => this.pending.length > 0);
    const next = this.pending.shift()!;
    if (outcome === 'ok') next.ok();
    else next.fail(outcome);
    return next.batch;
  }
}

const HOUR = 3_600_000;

describe('the batch writer', () => {
  it('writes everything queued, a batch at a time in order, and shows the batch under way', async () => {
    const q = new Held();
    const writer = new BatchWriter<number[]>(q, HOUR);
    q.queue.push(1, 2, 3, 4, 5);
    const flushed = writer.flush();
    expect(await q.settle('ok')).to.deep.equal([1, 2]);
    await within(2000, 'the second batch', async () => q.pending.length > 0);
    expect(writer.inFlight).to.deep.equal([3, 4]);
    await q.settle('ok');
    await q.settle('ok');
    await flushed;
    expect(q.written).to.deep.equal([[1, 2], [3, 4], [5]]);
    expect(writer.inFlight).to.equal(undefined);
    await writer.close();
  });

  it('puts a failed batch back, reports it, rejects its own flush only, and the next flush writes it', async () => {
    const q = new Held();
    const errors: unknown[] = [];
    const writer = new BatchWriter<number[]>(q, HOUR, (err) => void errors.push(err));
    q.queue.push(1, 2);
    const failing = writer.flush().then(() => 'resolved', (err: Error) => err.message);
    const waiting = writer.flush().then(() => 'resolved', (err: Error) => err.message);
    await q.settle(new Error('disk I/O error'));
    expect(await failing).to.equal('disk I/O error');
    // The waiting flush went on with its own write of the batch put back.
    expect(await q.settle('ok')).to.deep.equal([1, 2]);
    expect(await waiting).to.equal('resolved');
    expect(q.written).to.deep.equal([[1, 2]]);
    expect(errors.map((e) => (e as Error).message)).to.deep.equal(['disk I/O error']);
    await writer.close();
  });

  it('keeps a batch for a store that is away without reporting it (expected, and retried)', async () => {
    const q = new Held();
    const errors: unknown[] = [];
    const writer = new BatchWriter<number[]>(q, HOUR, (err) => void errors.push(err));
    q.queue.push(7);
    const failing = writer.flush().catch((err: unknown) => err);
    await q.settle(new StoreError('unavailable', 'PostgreSQL is unavailable'));
    expect(await failing).to.be.instanceOf(StoreError);
    expect(errors).to.deep.equal([]);
    expect(q.queue).to.deep.equal([7]);
    const closed = writer.close();
    expect(await q.settle('ok')).to.deep.equal([7]);
    await closed;
  });

  it('puts back the batch of a write that throws at once', async () => {
    const q = new Held();
    q.write = () => {
      throw new Error('statement is closed');
    };
    const errors: unknown[] = [];
    const writer = new BatchWriter<number[]>(q, HOUR, (err) => void errors.push(err));
    q.queue.push(1, 2, 3);
    expect(await writer.flush().then(() => 'resolved', (err: Error) => err.message)).to.equal('statement is closed');
    expect(q.queue).to.deep.equal([1, 2, 3]);
    expect(writer.inFlight).to.equal(undefined);
    expect(errors).to.have.length(1);
  });

  it('runs one background flush at a time: asking again while a write hangs adds no write and no report', async () => {
    const q = new Held();
    const errors: unknown[] = [];
    const writer = new BatchWriter<number[]>(q, HOUR, (err) => void errors.push(err));
    q.queue.push(1);
    for (let i = 0; i < 5; i++) writer.flushSoon();
    await q.settle(new Error('disk I/O error'));
    await within(2000, 'the failure is reported', async () => errors.length > 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(q.pending, 'no flushes piled up behind the hung write retry it at once').to.have.length(0);
    writer.flushSoon();
    expect(await q.settle('ok'), 'the next flush writes it').to.deep.equal([1]);
    await within(2000, 'the batch is written', async () => q.written.length === 1);
    expect(errors).to.have.length(1);
    await writer.close();
  });

  it('flushes on its timer, and close stops the timer and writes what is left', async () => {
    const q = new Held();
    const writer = new BatchWriter<number[]>(q, 20);
    q.queue.push(1);
    await q.settle('ok');
    expect(q.written).to.deep.equal([[1]]);
    q.queue.push(2);
    const closed = writer.close();
    await q.settle('ok');
    await closed;
    q.queue.push(3);
    await new Promise((r) => setTimeout(r, 100)); // an absence: five periods of the stopped timer
    expect(q.pending).to.have.length(0);
    expect(q.written).to.deep.equal([[1], [2]]);
  });
});

describe('the last-login stamp queue', () => {
  /** A store whose recordLogins the test settles. */
  function storeOf(q: Held): RecordStore {
    return { recordLogins: (stamps: Array<{ id: string; at: number }>) => q.write(stamps.map((s) => s.at)) } as unknown as RecordStore;
  }

  it('writes the latest stamp of each account, shows it until it is in the store, and keeps a failed batch', async () => {
    const q = new Held();
    const stamps = new LoginStamps(storeOf(q));
    stamps.record('b', 1);
    stamps.record('a', 2);
    stamps.record('b', 3);
    const failing = stamps.flush().catch((err: unknown) => err);
    expect(await q.settle(new Error('disk I/O error')), 'in id order, the latest of each').to.deep.equal([2, 3]);
    await failing;
    expect(stamps.of('a')).to.equal(2);
    stamps.record('a', 4); // newer than the failed batch's
    const flushed = stamps.flush();
    expect(stamps.of('a'), 'shown while being written').to.equal(4);
    expect(await q.settle('ok')).to.deep.equal([4, 3]);
    await flushed;
    expect(stamps.of('a')).to.equal(undefined);
    await stamps.close();
  });

  it('never writes again the stamp of an account deleted while it was being written', async () => {
    const q = new Held();
    const stamps = new LoginStamps(storeOf(q));
    stamps.record('gone', 1);
    stamps.record('kept', 2);
    const failing = stamps.flush().catch(() => undefined);
    await within(2000, 'the write begins', async () => q.pending.length > 0);
    stamps.forget('gone');
    expect(stamps.of('gone'), 'not shown once deleted, though still being written').to.equal(undefined);
    await q.settle(new Error('disk I/O error'));
    await failing;
    expect(stamps.of('gone')).to.equal(undefined);
    const flushed = stamps.flush();
    expect(await q.settle('ok')).to.deep.equal([2]);
    await flushed;
    await stamps.close();
  });
});
