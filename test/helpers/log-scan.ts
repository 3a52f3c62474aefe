/**
 * Secrets never reach a log, checked over the whole test run: every line any test server
 * wrote (in-process servers and child processes) is scanned at the end for the secrets the
 * run handled: the API secret and SIGNING_KEY_SECRET of the tests, every access, refresh and
 * login-request token a server answered with, and every password a test sent.
 */
import { TEST_API_SECRET, TEST_SIGNING_KEY_SECRET } from './keygate.js';

/** Characters of token-like secrets (JWTs, rt_… refresh tokens, base64url and base32 values). */
const WORD = /^[\w.-]+$/;
const SECRET_FIELDS = new Set(['password', 'token', 'refreshToken']);

export class LogScan {
  private readonly logs: Array<() => string> = [];
  private readonly secrets = new Set<string>();

  /** A server's log, read when the run ends. */
  collect(read: () => string): void {
    this.logs.push(read);
  }

  /** A secret the run handled (too short a string proves nothing and is skipped). */
  note(value: unknown): void {
    if (typeof value === 'string' && value.length >= 8) this.secrets.add(value);
  }

  /** Notes the secrets in a JSON text (a request or response body), by field name, at any depth. */
  noteIn(json: string): void {
    if (!/"(?:password|token|refreshToken)"/.test(json)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return;
    }
    const walk = (value: unknown, depth: number): void => {
      if (depth > 6 || value === null || typeof value !== 'object') return;
      for (const [key, inner] of Object.entries(value)) {
        if (SECRET_FIELDS.has(key)) this.note(inner);
        walk(inner, depth + 1);
      }
    };
    walk(parsed, 0);
  }

  /** Throws when any collected log holds any noted secret; returns what was scanned. */
  scan(): { lines: number; secrets: number } {
    const text = this.logs.map((read) => read()).join('\n');
    // Token-like secrets are looked up among the log's words (a set: thousands of tokens against
    // megabytes of log); any other secret (a password with spaces) is searched for as text.
    const words = new Set(text.split(/[^\w.-]+/));
    const found = [...this.secrets].filter((s) => (WORD.test(s) ? words.has(s) : text.includes(s)));
    if (found.length > 0) {
      throw new Error(`${found.length} secrets reached a log, e.g. ${found.slice(0, 3).map((s) => `${s.slice(0, 6)}…`).join(', ')}`);
    }
    return { lines: text.split('\n').length, secrets: this.secrets.size };
  }
}

/** The whole run's scan (the test helpers feed it; the root hooks run it). */
export const runLogScan = new LogScan();

export const collectLog = (read: () => string) => runLogScan.collect(read);
export const noteSecretsIn = (json: string) => runLogScan.noteIn(json);

/** Scans the whole run's logs, the tests' fixed secrets included. */
export function scanLogs(): { lines: number; secrets: number } {
  runLogScan.note(TEST_API_SECRET);
  runLogScan.note(TEST_SIGNING_KEY_SECRET);
  return runLogScan.scan();
}
