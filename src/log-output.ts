/**
 * Where keygate's log lines go: standard output, one synchronous write a line. A line is in the
 * kernel when the log call returns, so a crash or `kill -9` loses none. pino's default stream
 * writes on libuv's thread pool instead: one thread hop a line, which cost ~75 µs of CPU a
 * websocket handshake at info (bench of 2026-11-22, bench/FINDINGS.md).
 *
 * When the output cannot take a line, a log call never throws and never waits in a loop:
 * - a full blocking pipe makes the write wait for its reader (the kernel's own back-pressure:
 *   keygate runs at the reader's pace, and stops while the reader does);
 * - a full non-blocking pipe (EAGAIN; a pipe shared with stderr may have been made non-blocking
 *   by Node) or a failing file (ENOSPC, EIO, ...): the unwritten bytes wait in a backlog of at
 *   most LOG_BACKLOG_MAX bytes and are written, in order, before the next line, or after
 *   LOG_RETRY_MS if none comes; past the bound new lines are dropped and counted;
 * - a reader that is gone (EPIPE, ECONNRESET): logging stops.
 * Failures are reported on stderr (one synchronous write that may fail silently: stderr is often
 * the same failing file or pipe) at most once every LOG_FAILURE_REPORT_MS, and counted for the
 * metrics. (sonic-boom's synchronous mode, which pino.destination gives, sleeps 100 ms on the
 * event loop and tries again on EAGAIN until its stack overflows, and once its backlog is full
 * it never writes again: hence this small writer.)
 */
import { writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';

/** The default report: straight to fd 2, never throwing (process.stderr would emit an error nobody handles). */
function reportOnStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // stderr failing too: the counts stay in the metrics
  }
}

/** Limit: bytes of log lines held while the output cannot take them; past it new lines are dropped. */
export const LOG_BACKLOG_MAX = 4 * 1024 * 1024;
/** Limit: with lines waiting and none logged, how long until the backlog is tried again. */
export const LOG_RETRY_MS = 1000;
/** Limit: a failing log output is reported on stderr at most this often. */
export const LOG_FAILURE_REPORT_MS = 10_000;

export interface LogOutputOptions {
  /** The file descriptor written to (standard output). */
  fd?: number;
  backlogMax?: number;
  /** Where failures are reported (stderr). */
  report?: (text: string) => void;
  now?: () => number;
}

export class LogOutput implements DestinationStream {
  /** Lines dropped since the start: the backlog was full, the reader was gone, or the output was closed. */
  dropped = 0;
  /** Writes that failed since the start. */
  failures = 0;
  private readonly fd: number;
  private readonly backlogMax: number;
  private readonly report: (text: string) => void;
  private readonly now: () => number;
  /** Bytes not written yet, oldest first (the first may be the rest of a partly written line). */
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private gone = false;
  /** After close(): lines are dropped and counted, and no timer is armed. */
  private closed = false;
  private lastReportAt = -Infinity;
  private unreported = { failures: 0, dropped: 0 };
  private lastError = '';

  constructor(options: LogOutputOptions = {}) {
    this.fd = options.fd ?? 1;
    this.backlogMax = options.backlogMax ?? LOG_BACKLOG_MAX;
    this.report = options.report ?? reportOnStderr;
    this.now = options.now ?? Date.now;
  }

  /** Bytes waiting to be written. */
  get waiting(): number {
    return this.backlogBytes;
  }

  /** Whether a retry of what waits is scheduled (LOG_RETRY_MS). */
  get retryScheduled(): boolean {
    return this.timer !== undefined;
  }

  write(line: string): void {
    if (this.gone || this.closed) return this.drop();
    const bytes = Buffer.byteLength(line);
    if (this.backlogBytes === 0) {
      let written: number;
      try {
        written = writeSync(this.fd, line);
      } catch (err) {
        this.failed(err);
        return this.gone || bytes > this.backlogMax ? this.drop() : this.keep(Buffer.from(line));
      }
      if (written < bytes) this.keep(Buffer.from(line).subarray(written));
      return;
    }
    if (this.backlogBytes + bytes > this.backlogMax) {
      this.retry();
      if (this.gone || this.backlogBytes + bytes > this.backlogMax) return this.drop();
    }
    this.keep(Buffer.from(line));
    this.retry();
  }

  /**
   * Writes what waits, in order, until it is all written or a write fails or makes no progress.
   * (Not named flush: pino's logger.flush(cb) calls a stream's flush with a callback.)
   */
  retry(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.backlog.length > 0 && !this.gone) {
      const head = this.backlog[0]!;
      let written: number;
      try {
        written = writeSync(this.fd, head);
      } catch (err) {
        this.failed(err);
        break;
      }
      if (written === 0) break;
      this.backlogBytes -= written;
      if (written < head.length) this.backlog[0] = head.subarray(written);
      else this.backlog.shift();
    }
    if (this.backlog.length > 0 && !this.gone && !this.closed) this.timer = setTimeout(() => this.retry(), LOG_RETRY_MS).unref();
  }

  /**
   * A last try at what waits; from now on lines are dropped and counted, and no timer is armed
   * (the owner of the descriptor may close it). Bytes still unwritten are reported at once.
   */
  close(): void {
    if (this.closed) return;
    // Closed first: the last try must not arm a timer.
    this.closed = true;
    this.retry();
    if (this.backlogBytes > 0) {
      this.report(`keygate: the log output closed with ${this.backlogBytes} bytes of log lines it could not write (${this.lastError})\n`);
    }
  }

  private keep(bytes: Buffer): void {
    this.backlog.push(bytes);
    this.backlogBytes += bytes.length;
    if (!this.closed) this.timer ??= setTimeout(() => this.retry(), LOG_RETRY_MS).unref();
  }

  private drop(): void {
    this.dropped++;
    this.unreported.dropped++;
    this.maybeReport();
  }

  private failed(err: unknown): void {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    this.failures++;
    this.unreported.failures++;
    this.lastError = code;
    if (code === 'EPIPE' || code === 'ECONNRESET') {
      // Nobody reads any more: what waits is lost with the reader.
      this.gone = true;
      this.dropped += this.backlog.length;
      this.unreported.dropped += this.backlog.length;
      this.backlog = [];
      this.backlogBytes = 0;
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.maybeReport();
  }

  private maybeReport(): void {
    const now = this.now();
    if (now - this.lastReportAt < LOG_FAILURE_REPORT_MS) return;
    this.lastReportAt = now;
    const { failures, dropped } = this.unreported;
    this.unreported = { failures: 0, dropped: 0 };
    const state = this.gone ? 'the reader is gone, logging stopped' : this.closed ? 'the output is closed' : `${this.backlogBytes} bytes wait to be written`;
    this.report(`keygate: writing the log failed (${this.lastError || 'closed'}): ${failures} failed writes and ${dropped} dropped lines since the last report; ${state}\n`);
  }
}
