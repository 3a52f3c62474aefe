/**
 * A test run never hangs silently. Mocha's timeouts end a test that waits too long, but not
 * one that blocks the event loop (a synchronous loop, a native call that never returns), and
 * not a run whose last test passed but whose process never exits (a handle left open). Both
 * would run into CI's time limit with nothing said. So:
 *
 * - A worker thread watches a heartbeat the main thread writes every second. When the event
 *   loop has been blocked for `STALL_LIMIT_MS`, it reports the last test that started and the
 *   native stacks of the process's threads (gdb, when installed), to the file TEST_HUNG_REPORT
 *   names (when set, for CI) and to stderr, and kills the process: the run fails at once, and
 *   says where.
 * - `EXIT_LIMIT_MS` after the run's last hook the process must have exited; if not, it
 *   writes the handles still open and exits with 1.
 */
import { Worker } from 'node:worker_threads';

const fromEnv = (name: string, fallback: number) => Number(process.env[name]) || fallback;
/** Limit: how long the event loop may stay blocked before the run is ended as hung (TEST_STALL_LIMIT_MS). */
export const STALL_LIMIT_MS = fromEnv('TEST_STALL_LIMIT_MS', 120_000);
/** Limit: how long the process may stay alive after the run's last hook (TEST_EXIT_LIMIT_MS). */
export const EXIT_LIMIT_MS = fromEnv('TEST_EXIT_LIMIT_MS', 30_000);
const TITLE_BYTES = 1024;

// [0] heartbeats so far; [1] length of the title; then the title's UTF-8 bytes.
const shared = new SharedArrayBuffer(8 + TITLE_BYTES);
const header = new Int32Array(shared, 0, 2);
const titleBytes = new Uint8Array(shared, 8, TITLE_BYTES);
const CHECK_MS = 5000;

// Plain JavaScript (no loader in a worker started from a string), run with eval. It counts its
// own checks that saw no new heartbeat, so a step of the wall clock can neither fake a stall nor
// hide one. The report goes to the file first, then a backstop kill is armed, and only then to
// stderr: a blocked stderr (a full pipe) cannot keep a hung run alive.
const WATCHER = `
const { workerData } = require('node:worker_threads');
const { execFileSync, spawn } = require('node:child_process');
const { appendFileSync, existsSync, readdirSync, readFileSync, writeSync } = require('node:fs');
const { shared, pid, stallLimitMs, reportFile, checkMs } = workerData;
const header = new Int32Array(shared, 0, 2);
const title = () => Buffer.from(new Uint8Array(shared, 8, Atomics.load(header, 1))).toString('utf8');
function nativeStacks() {
  if (existsSync('/usr/bin/gdb')) {
    try {
      return execFileSync('/usr/bin/gdb', ['-p', String(pid), '-batch', '-ex', 'thread apply all bt 20'], { timeout: 60000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      return 'gdb failed: ' + e.message;
    }
  }
  try {
    return readdirSync('/proc/' + pid + '/task').map((t) => t + ' ' + readFileSync('/proc/' + pid + '/task/' + t + '/wchan', 'utf8')).join('\\n');
  } catch (e) {
    return 'no stacks: ' + e.message;
  }
}
let seen = Atomics.load(header, 0);
let stalledChecks = 0;
setInterval(() => {
  const beats = Atomics.load(header, 0);
  stalledChecks = beats === seen ? stalledChecks + 1 : 0;
  seen = beats;
  if (stalledChecks * checkMs < stallLimitMs) return;
  const head = '\\nwatchdog: the event loop has been blocked for ' + (stalledChecks * checkMs) / 1000 + ' s; the last test started: ' + (title() || '(none yet)') + '\\n';
  if (reportFile) appendFileSync(reportFile, head);
  const rest = nativeStacks() + '\\nwatchdog: ending the run (a hung test run must fail, not run into the CI time limit)\\n';
  if (reportFile) appendFileSync(reportFile, rest);
  spawn('/bin/sh', ['-c', 'sleep 10; kill -9 ' + pid], { detached: true, stdio: 'ignore' }).unref();
  writeSync(2, head + rest);
  process.kill(pid, 'SIGKILL');
}, checkMs);
`;

function beat(): void {
  Atomics.add(header, 0, 1);
}

/** Starts the watcher (once per process); neither it nor the heartbeat keeps the process alive. */
export function startWatchdog(): void {
  const registry = globalThis as typeof globalThis & { keygateWatchdog?: boolean };
  if (registry.keygateWatchdog) return;
  registry.keygateWatchdog = true;
  setInterval(beat, 1000).unref();
  new Worker(WATCHER, { eval: true, workerData: { shared, pid: process.pid, stallLimitMs: STALL_LIMIT_MS, reportFile: process.env.TEST_HUNG_REPORT, checkMs: CHECK_MS } }).unref();
}

/** Records the test now running, for the watcher's report. */
export function runningTest(title: string): void {
  const bytes = Buffer.from(title, 'utf8').subarray(0, TITLE_BYTES);
  titleBytes.set(bytes);
  Atomics.store(header, 1, bytes.length);
  beat();
}

/** Called after the run's last hook: a process still alive `EXIT_LIMIT_MS` later names its open handles and exits 1. */
export function requireExit(): void {
  setTimeout(() => {
    process.stderr.write(`\nwatchdog: the test run ended ${EXIT_LIMIT_MS / 1000} s ago but the process is still alive; open handles: ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
    process.exit(1);
  }, EXIT_LIMIT_MS).unref();
}
