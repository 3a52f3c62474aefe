/** The log's output (src/log-output.ts) on real file descriptors that cannot take a line: /dev/full, a full pipe, a pipe nobody reads. */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_FAILURE_REPORT_MS, LogOutput } from '../src/log-output.js';
import { createLogger } from '../src/log.js';

/** A named pipe, both ends opened non-blocking: writes past its capacity fail with EAGAIN until it is read. */
function fifo() {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-fifo-'));
  const path = join(dir, 'pipe');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const readAll = () => {
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
    return Buffer.concat(chunks).toString();
  };
  const close = () => {
    for (const fd of [reader, writer]) {
      try {
        closeSync(fd);
      } catch {
        // already closed by the test
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { reader, writer, readAll, close };
}

describe('log output', () => {
  it('a full pipe: lines wait in the backlog and are all written, in order, once the reader catches up', () => {
    const pipe = fifo();
    try {
      const reports: string[] = [];
      const output = new LogOutput({ fd: pipe.writer, report: (t) => void reports.push(t) });
      const log = createLogger('info', output);
      const n = 2000; // ~200 KiB of lines: more than the pipe holds (64 KiB)
      for (let i = 0; i < n; i++) log.info({ i, pad: 'x'.repeat(40) }, 'line');
      expect(output.failures, 'writes failed with EAGAIN').to.be.greaterThan(0);
      expect(output.waiting).to.be.greaterThan(0);
      expect(output.dropped).to.equal(0);
      expect(reports).to.have.length(1);
      expect(reports[0]).to.match(/writing the log failed \(EAGAIN\)/);
      let text = pipe.readAll();
      // Each line logged after the reader drained writes what waits first; as many rounds as the pipe needs.
      for (let round = 0; round < 20 && output.waiting > 0; round++) {
        output.flush();
        text += pipe.readAll();
      }
      expect(output.waiting).to.equal(0);
      const lines = text.split('\n').filter((l) => l !== '');
      expect(lines).to.have.length(n);
      lines.forEach((l, i) => expect((JSON.parse(l) as { i: number }).i).to.equal(i));
      output.close();
    } finally {
      pipe.close();
    }
  });

  it('a failing file (ENOSPC): the log call never throws, the backlog stays bounded, lines past it are dropped and counted, reports are rate-limited', () => {
    const fd = openSync('/dev/full', 'w');
    try {
      let now = 0;
      const reports: string[] = [];
      const output = new LogOutput({ fd, backlogMax: 4096, report: (t) => void reports.push(t), now: () => now });
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
      output.close();
      expect(output.waiting, 'what waits stays: nothing could be written').to.be.above(0);
    } finally {
      closeSync(fd);
    }
  });

  it('a reader that is gone (EPIPE): logging stops, nothing throws, every line after is counted as dropped', () => {
    const pipe = fifo();
    try {
      const reports: string[] = [];
      const output = new LogOutput({ fd: pipe.writer, report: (t) => void reports.push(t) });
      const log = createLogger('info', output);
      log.info('read');
      expect(pipe.readAll()).to.include('"msg":"read"');
      closeSync(pipe.reader);
      log.info('lost');
      log.info('lost too');
      expect(output.failures).to.equal(1);
      expect(output.dropped).to.equal(2);
      expect(reports).to.have.length(1);
      expect(reports[0]).to.match(/EPIPE.*logging stopped/);
      output.close();
    } finally {
      pipe.close();
    }
  });
});
