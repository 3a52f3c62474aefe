/**
 * How a front door logs a refusal of its own making: a real fault (server_error) at error
 * level with its cause; overload (server_busy and other 5xx codes) at warn, without a
 * stack and at most once per OVERLOAD_LOG_INTERVAL_MS per code, with how many were not
 * logged; client errors not at all (they are events, not faults).
 */
import { SERVER_SIDE_CODES, type AuthError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';

export const OVERLOAD_LOG_INTERVAL_MS = 1000;

const lastLogged = new Map<ErrorCode, { at: number; suppressed: number }>();

export function logFailure(log: Logger, error: AuthError, msg: string, fields: Record<string, unknown> = {}, now = Date.now()): void {
  if (!SERVER_SIDE_CODES.has(error.code)) return;
  if (error.code === 'server_error') {
    log.error({ ...fields, err: error.cause ?? error }, msg);
    return;
  }
  const last = lastLogged.get(error.code);
  if (last && now - last.at < OVERLOAD_LOG_INTERVAL_MS) {
    last.suppressed++;
    return;
  }
  lastLogged.set(error.code, { at: now, suppressed: 0 });
  log.warn({ ...fields, code: error.code, suppressed: last?.suppressed ?? 0 }, msg);
}
