/**
 * Starts the real keygate (`node dist/main.js`) as its own process on loopback, with a
 * fresh DATA_DIR, and waits until /healthz answers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT, sleep, track, withTimeout } from './lib.js';

/** A fixed, bench-only API pair (never used anywhere else). */
export const BENCH_API = {
  USER_API_KEY: 'bkduiufahqofinobxnq33wiemtu',
  USER_API_SECRET: 'bpoccmovlduubyrzewhc3njmsf55zssqmuximulbm5absz33j5xba',
};
/** Bench-only debug lines on the server's stderr (bench/soak-probe.ts writes them) begin with this. */
export const PROBE_PREFIX = 'keygate-bench-probe ';
/** How Node prints a process warning on stderr: `(node:1234) MaxListenersExceededWarning: ...`. */
const WARNING_LINE = /^\(node:\d+\) (\w+): /;

/** HTTP Basic with the bench's API pair (introspection). */
export const BENCH_BASIC = `Basic ${Buffer.from(`${BENCH_API.USER_API_KEY}:${BENCH_API.USER_API_SECRET}`).toString('base64')}`;

export interface KeygateProcess {
  pid: number;
  port: number;
  url: string;
  wsUrl: string;
  dataDir: string;
  /** Process warnings the server printed on stderr so far, by name (MaxListenersExceededWarning, ...). */
  warnings: Record<string, number>;
  /** The next bench probe line the server writes on stderr (its JSON, without PROBE_PREFIX). */
  nextProbeLine(timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'keygate-bench-'));
}

export interface StartOptions {
  /** Extra environment (HASH_CONCURRENCY, HANDSHAKE_TIMEOUT_MS, ...). */
  env?: Record<string, string>;
  /** An existing, possibly pre-seeded data directory; a fresh one otherwise. */
  dataDir?: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

export async function startKeygate(options: StartOptions = {}): Promise<KeygateProcess> {
  const dataDir = options.dataDir ?? makeDataDir();
  const port = await freePort();
  let output = '';
  const child = track(spawn(process.execPath, [...(options.nodeFlags ?? []), join(ROOT, 'dist/main.js')], {
    cwd: dataDir, // no .env from the repository
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      // As operators run it: info (an access-log line per request, one per handshake outcome), the audit log on.
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '1000',
      RATE_LIMITS: 'off',
      ...BENCH_API,
      ...options.env,
    },
    // The log goes straight to a file (the kernel writes it; no generator CPU spent reading it).
    stdio: ['ignore', openSync(join(dataDir, 'keygate.log'), 'a'), 'pipe'],
  }));
  const warnings: Record<string, number> = {};
  const probeWaiters: ((line: string) => void)[] = [];
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith(PROBE_PREFIX)) {
        for (const waiter of probeWaiters.splice(0)) waiter(line.slice(PROBE_PREFIX.length));
        continue;
      }
      const warning = WARNING_LINE.exec(line);
      if (warning) warnings[warning[1]!] = (warnings[warning[1]!] ?? 0) + 1;
      output = (output + line + '\n').slice(-4000);
    }
  });
  const logTail = () => {
    try {
      return readFileSync(join(dataDir, 'keygate.log'), 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`keygate exited during start-up:\n${logTail()}${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`keygate did not answer /healthz within 20 s:\n${logTail()}${output}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    await sleep(50);
  }

  return {
    pid: child.pid!,
    port,
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws/userauth`,
    dataDir,
    warnings,
    nextProbeLine(timeoutMs) {
      return withTimeout(new Promise<string>((resolve) => probeWaiters.push(resolve)), timeoutMs, 'keygate probe line');
    },
    async stop() {
      if (!exited) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM'); // a clean exit also writes --cpu-prof profiles
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
