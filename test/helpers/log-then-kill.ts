/**
 * A child process for test/log.test.ts: keeps libuv's only pool thread busy (run it with
 * UV_THREADPOOL_SIZE=1), writes one line through keygate's default logger, and kills itself
 * with SIGKILL in the same tick. The line reaches standard output only if the write was
 * made before the log call returned: a write queued on the pool never runs.
 */
import { pbkdf2 } from 'node:crypto';
import { createLogger } from '../../src/log.js';

pbkdf2('busy', 'salt', 50_000_000, 32, 'sha512', () => {});
createLogger('info').info({ event: 'test.line' }, 'written before the kill');
process.kill(process.pid, 'SIGKILL');
