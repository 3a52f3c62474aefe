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
 * Lines go to standard output with a synchronous write each (see `logDestination`).
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field names that hold secrets. */
export const SECRET_FIELDS = ['password', 'secret', 'token', 'refreshToken', 'userAuth', 'authorization', 'cookie', 'privatePem', 'privateKey', 'apiSecret'] as const;
/** The objects a log line may nest them in. */
export const SECRET_CONTAINERS = [
  '', 'err.', 'err.cause.', 'err.config.', 'err.headers.', 'err.response.headers.', 'body.', 'headers.', 'req.headers.',
] as const;

/** Paths redacted from every log line. */
export const REDACT_PATHS = SECRET_CONTAINERS.flatMap((c) => SECRET_FIELDS.map((f) => `${c}${f}`));

/**
 * Standard output, written synchronously: each line is in the kernel when the log call returns,
 * so a crash or `kill -9` loses none, and a log reader slower than keygate slows keygate
 * rather than filling its memory. pino's default stream writes on libuv's thread pool instead:
 * one thread hop a line, which cost ~75 µs of CPU a websocket handshake at info (bench of
 * 2026-11-22, bench/FINDINGS.md), more than the synchronous write itself.
 */
export function logDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

export function createLogger(level: string, destination: DestinationStream = logDestination()): Logger {
  return pino(
    { level, base: { name: 'keygate' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination,
  );
}
