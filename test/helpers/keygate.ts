/** Starts a real keygate on port 0 with a fresh data dir, capturing its log lines. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startKeygate, type Keygate, type KeygateOptions } from '../../src/keygate.js';
import { createLogger } from '../../src/log.js';
import { collectLog } from './log-scan.js';

/** A fixed API pair for tests (made with `npm run keygen`). */
export const TEST_API_KEY = 'bkduiufahqofinobxnq33wiemtu';
export const TEST_API_SECRET = 'bpoccmovlduubyrzewhc3njmsf55zssqmuximulbm5absz33j5xba';
/** A fixed SIGNING_KEY_SECRET for tests. */
export const TEST_SIGNING_KEY_SECRET = 'test-signing-key-secret-0123456789abcdef';
/** The secrets every test server and CLI run shares. */
export const TEST_SECRETS = { USER_API_KEY: TEST_API_KEY, USER_API_SECRET: TEST_API_SECRET, SIGNING_KEY_SECRET: TEST_SIGNING_KEY_SECRET };

export interface TestKeygate extends Keygate {
  logLines: string[];
  dataDir: string;
  /** Closes the server; removes the data dir unless keepData. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** Every directory tempDir made in this run; the root hook removes what the tests left. */
const tempDirs: string[] = [];

export function tempDir(prefix = 'keygate-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory tempDir made (at the end of the run). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A clock for tests: starts at the real time and moves only when told. */
export class TestClock {
  ms = Date.now();
  readonly now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export async function startTestKeygate(env: Record<string, string> = {}, dataDir = tempDir(), options: KeygateOptions = {}): Promise<TestKeygate> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ...TEST_SECRETS,
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logLines: string[] = [];
  collectLog(() => logLines.join(''));
  const log = createLogger(config.logLevel, { write: (line: string) => void logLines.push(line) });
  const keygate = await startKeygate(config, log, options);
  let stopped = false;
  return Object.assign(keygate, {
    logLines,
    dataDir,
    async stop(options: { keepData?: boolean } = {}) {
      if (!stopped) {
        stopped = true;
        await keygate.close();
      }
      if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
