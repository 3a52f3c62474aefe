/**
 * The structured logger (pino). Callers never log secrets; as a second line of defence the
 * fields that carry them are redacted wherever keygate's lines can hold them: at the top level
 * and inside the objects keygate logs or may (an error, its cause, its driver configuration or
 * HTTP headers; a body; request headers). Each path costs a little on every line (about 5 µs a
 * line for 200 paths), so the list is what the log calls can hold: a new nested object in a log
 * call needs its container here (test/log.test.ts checks each).
 *
 * The paths are exact, not wildcards: pino's redaction of `*.x` walks every field of every
 * line and costs about six times the line itself (30 µs against 4.5 µs, bench of 2026-11-22),
 * while exact paths cost little.
 *
 * Lines go to standard output with a synchronous write each (src/log-output.ts).
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { LogOutput } from './log-output.js';

export type { Logger };

/** Field names that hold secrets. */
export const SECRET_FIELDS = ['password', 'secret', 'token', 'refreshToken', 'userAuth', 'authorization', 'cookie', 'privatePem', 'privateKey', 'apiSecret'] as const;
/** The objects a log line may nest them in. */
export const SECRET_CONTAINERS = [
  '', 'err.', 'err.cause.', 'err.config.', 'err.headers.', 'err.response.headers.', 'body.', 'headers.', 'req.headers.',
] as const;

/** Paths redacted from every log line. */
export const REDACT_PATHS = SECRET_CONTAINERS.flatMap((c) => SECRET_FIELDS.map((f) => `${c}${f}`));

export function createLogger(level: string, destination: DestinationStream = new LogOutput()): Logger {
  return pino(
    { level, base: { name: 'keygate' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination,
  );
}
