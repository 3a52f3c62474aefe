/**
 * The test run's watchdog (test/helpers/watchdog.ts), on real child processes: a blocked event
 * loop and a process that never exits both end with a report instead of running into CI's limit.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScript } from './helpers/cli.js';
import { tempDir } from './helpers/keygate.js';

const runChild = (mode: 'stall' | 'linger', env: Record<string, string>) => runScript('test/helpers/watchdog-child.ts', env, [mode]);

describe('the test run watchdog', function () {
  this.timeout(60_000);

  it('ends a process whose event loop stays blocked past TEST_STALL_LIMIT_MS, naming the test (also in TEST_HUNG_REPORT)', async () => {
    const report = join(tempDir(), 'hung.txt');
    const run = await runChild('stall', { TEST_STALL_LIMIT_MS: '2000', TEST_HUNG_REPORT: report });
    expect(run.signal).to.equal('SIGKILL');
    expect(run.stdout, 'killed before the 30 s loop ended').to.equal('');
    expect(run.stderr).to.match(/watchdog: the event loop has been blocked for \d+ s; the last test started: a test that blocks the event loop/);
    expect(run.stderr).to.include('watchdog: ending the run');
    expect(readFileSync(report, 'utf8')).to.match(/^\nwatchdog: the event loop has been blocked for \d+ s; the last test started: a test that blocks the event loop\n[\s\S]*watchdog: ending the run/);
  });

  it('ends a process still alive TEST_EXIT_LIMIT_MS after the run, naming its open handles', async () => {
    const report = join(tempDir(), 'hung.txt');
    const run = await runChild('linger', { TEST_EXIT_LIMIT_MS: '500', TEST_HUNG_REPORT: report });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/watchdog: the test run ended 0\.5 s ago but the process is still alive; open handles: \[.*"Timeout".*\]/);
    expect(existsSync(report), 'no hung report: the loop was never blocked').to.equal(false);
  });
});
