/**
 * A child process for test/log-output.test.ts, started with standard output and stderr both on
 * /dev/full: logs through keygate's default output (whose failure reports go to stderr, which
 * fails too), then sends what it counted over IPC and exits 0, unless a log call threw.
 */
import { createLogger } from '../../src/log.js';
import { LogOutput } from '../../src/log-output.js';

const output = new LogOutput();
const log = createLogger('info', output);
for (let i = 0; i < 100; i++) log.info({ i }, 'a line for a full disk');
output.close();
process.send!({ failures: output.failures, dropped: output.dropped, waiting: output.waiting }, () => process.exit(0));
