/** The log's output (src/log-output.ts) on real file descriptors that cannot take a line: /dev/full, a full pipe, a pipe nobody reads. */
import { expect } from 'chai';
import { execFileSync, fork } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_FAILURE_REPORT_MS, LogOutput } from '../src/log-output.js';
import { createLogger, type Logger } from '../src/log.js';

/** A named pipe, both ends opened non-blocking: writes past its capacity fail with EAGAIN until it is read. */
function fifo() {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-fifo-'));
  const path = join(dir, 'pipe');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  /** What the pipe holds now, as bytes (a multi-byte character may be split between two calls). */
  const readBytes = () => {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    for (;;) {
      let n: number;
      try {
        n = readSync(reader, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw err;
      }
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks);
  };
  const readAll = () => readBytes().toString();
  const open = new Set([reader, writer]);
  /** Closes one end now (the test's own reader gone); close() closes what is left. */
  const closeEnd = (fd: number) => {
    if (open.delete(fd)) closeSync(fd);
  };
  const close = () => {
    for (const fd of [...open]) closeEnd(fd);
    rmSync(dir, { recursive: true, force: true });
  };
  return { reader, writer, readAll, readBytes, closeEnd, close };
}

/**
 * Runs `test` with a LogOutput (its reports collected) and a logger writing into a fresh FIFO;
 * then closes the output before the pipe, so that no retry writes into a reused descriptor.
 */
function onPipe(test: (t: { pipe: ReturnType<typeof fifo>; output: LogOutput; reports: string[]; log: Logger }) => void): void {
  const pipe = fifo();
  const reports: string[] = [];
  const output = new LogOutput({ fd: pipe.writer, report: (t) => void reports.push(t) });
  try {
    test({ pipe, output, reports, log: createLogger('info', output) });
  } finally {
    output.close();
    pipe.close();
  }
}

describe('log output', () => {
  it('a full pipe: lines wait in the backlog and are all written, in order, once the reader catches up', () => {
    onPipe(({ pipe, output, reports, log }) => {
      const n = 2000; // ~200 KiB of lines: more than the pipe holds (64 KiB)
      for (let i = 0; i < n; i++) log.info({ i, pad: 'x'.repeat(40) }, 'line');
      expect(output.failures, 'writes failed with EAGAIN').to.be.greaterThan(0);
      expect(output.waiting).to.be.greaterThan(0);
      expect(output.dropped).to.equal(0);
      expect(reports).to.have.length(1);
      expect(reports[0]).to.match(/writing the log failed \(EAGAIN\)/);
      let text = pipe.readAll();
      // What waits is written before the next line, or by the retry; as many rounds as the pipe needs.
      for (let round = 0; round < 20 && output.waiting > 0; round++) {
        output.retry();
        text += pipe.readAll();
      }
      expect(output.waiting).to.equal(0);
      const lines = text.split('\n').filter((l) => l !== '');
      expect(lines).to.have.length(n);
      lines.forEach((l, i) => expect((JSON.parse(l) as { i: number }).i).to.equal(i));
    });
  });

  it('a failing file (ENOSPC): the log call never throws, the backlog stays bounded, lines past it are dropped and counted, reports are rate-limited', () => {
    const fd = openSync('/dev/full', 'w');
    let now = 0;
    const reports: string[] = [];
    const output = new LogOutput({ fd, backlogMax: 4096, report: (t) => void reports.push(t), now: () => now });
    try {
      const log = createLogger('info', output);
      for (let i = 0; i < 200; i++) log.info({ i }, 'a line that cannot be written');
      expect(output.failures).to.be.greaterThan(0);
      expect(output.waiting).to.be.at.most(4096);
      expect(output.dropped).to.be.greaterThan(100);
      expect(reports, 'one report within LOG_FAILURE_REPORT_MS').to.have.length(1);
      expect(reports[0]).to.match(/\(ENOSPC\)/);
      now += LOG_FAILURE_REPORT_MS;
      log.info('one more');
      expect(reports).to.have.length(2);
      expect(reports[1]).to.match(/ENOSPC.*dropped lines since the last report/);
      const waiting = output.waiting;
      expect(output.retryScheduled, 'what waits is tried again later').to.equal(true);
      output.close();
      expect(reports[2], 'closing reports what could not be written, whatever the rate limit').to.equal(`keygate: the log output closed with ${waiting} bytes of log lines it could not write (ENOSPC)\n`);
      const dropped = output.dropped;
      log.info('after close');
      expect(output.dropped, 'a line after close is dropped, not written').to.equal(dropped + 1);
      expect(output.retryScheduled, 'no retry after close: the descriptor may be closed and its number reused').to.equal(false);
    } finally {
      output.close();
      closeSync(fd);
    }
  });

  it('a reader that is gone (EPIPE): logging stops, nothing throws, every line after is counted as dropped', () => {
    onPipe(({ pipe, output, reports, log }) => {
      log.info('read');
      expect(pipe.readAll()).to.include('"msg":"read"');
      pipe.closeEnd(pipe.reader);
      log.info('lost');
      log.info('lost too');
      expect(output.failures).to.equal(1);
      expect(output.dropped).to.equal(2);
      expect(reports).to.have.length(1);
      expect(reports[0]).to.match(/EPIPE.*logging stopped/);
    });
  });

  it('lines longer than the pipe, of multi-byte characters, written in parts: every byte arrives once, in order', () => {
    onPipe(({ pipe, output, log }) => {
      const lines = ['é', '€', '𝄞'].map((ch, i) => ({ i, text: ch.repeat(40_000) })); // 80–160 KiB each
      const bytes: Buffer[] = [];
      for (const line of lines) {
        log.info(line, 'long');
        bytes.push(pipe.readBytes()); // the reader keeps up between lines, a pipe's worth at a time
      }
      for (let round = 0; round < 50 && output.waiting > 0; round++) {
        output.retry();
        bytes.push(pipe.readBytes());
      }
      const text = Buffer.concat(bytes).toString();
      expect(output.waiting).to.equal(0);
      expect(output.failures, 'partial writes, then EAGAIN').to.be.greaterThan(0);
      const got = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { i: number; text: string });
      expect(got.map((g) => g.i)).to.deep.equal([0, 1, 2]);
      got.forEach((g, i) => expect(g.text).to.equal(lines[i]!.text));
    });
  });

  it('the default report: with stderr failing too (both on /dev/full), logging neither throws nor ends the process', async function () {
    this.timeout(30_000);
    const full = openSync('/dev/full', 'w');
    try {
      const child = fork('test/helpers/log-full-child.ts', [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', full, full, 'ipc'] });
      const counted = new Promise<{ failures: number; dropped: number; waiting: number }>((resolve) => child.once('message', (m) => resolve(m as never)));
      const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])));
      expect(code).to.equal(0);
      const { failures, dropped, waiting } = await counted;
      expect(failures).to.be.greaterThan(0);
      expect(dropped + waiting, 'every line is either dropped or waiting').to.be.greaterThan(0);
    } finally {
      closeSync(full);
    }
  });
});
