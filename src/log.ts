/** The structured logger (pino). Secrets are redacted by path; callers never log them. */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Paths redacted from every log line, wherever they appear. */
export const REDACT_PATHS = [
  'password', '*.password', 'secret', '*.secret', 'token', '*.token', 'refreshToken', '*.refreshToken',
  'userAuth', '*.userAuth', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'headers.cookie', '*.headers.cookie', 'privatePem', '*.privatePem',
];

/** Limit: log bytes buffered before they are written to standard output. */
export const LOG_BUFFER_BYTES = 4096;
/** Buffered log lines are written at least this often, however few there are. */
export const LOG_FLUSH_MS = 1000;

/**
 * The logger. Without a destination it writes to standard output through a buffer (one
 * `write` per LOG_BUFFER_BYTES instead of one per line, the cost of an access-log line per
 * request), flushed every LOG_FLUSH_MS and by {@link Logger.flush} at shutdown.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { name: 'keygate' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (destination) return pino(options, destination);
  const stream = pino.destination({ dest: 1, minLength: LOG_BUFFER_BYTES, sync: false });
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      // closing, or a write under way: the next tick or the final flush takes it
    }
  }, LOG_FLUSH_MS);
  timer.unref();
  return pino(options, stream);
}
