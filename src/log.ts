/** The structured logger (pino). Secrets are redacted by path; callers never log them. */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Paths redacted from every log line, wherever they appear. */
export const REDACT_PATHS = [
  'password', '*.password', 'secret', '*.secret', 'token', '*.token', 'refreshToken', '*.refreshToken',
  'userAuth', '*.userAuth', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'headers.cookie', '*.headers.cookie', 'privatePem', '*.privatePem',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, base: { name: 'keygate' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination,
  );
}
