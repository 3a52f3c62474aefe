/** The HTTP door's rendering of errors: each stable error code's status, and the JSON body. */
import { asAuthError, type ErrorCode } from '../../errors.js';

export const HTTP_STATUS = {
  invalid_request: 400,
  invalid_message: 400,
  unsupported_message: 400,
  unexpected_message: 400,
  invalid_pubkey: 400,
  invalid_scope: 400,
  invalid_resources: 400,
  no_challenge: 400,
  invalid_signature: 401,
  challenge_expired: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  unauthorized: 401,
  origin_not_allowed: 403,
  forbidden: 403,
  account_disabled: 403,
  not_found: 404,
  method_not_allowed: 405,
  handshake_timeout: 408,
  request_timeout: 408,
  duplicate_entity: 409,
  already_completed: 409,
  login_pending: 409,
  already_read: 410,
  roles_missing: 403,
  key_linked: 409,
  last_credential: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  account_locked: 429,
  rate_limited: 429,
  headers_too_large: 431,
  server_error: 500,
  server_busy: 503,
  shutting_down: 503,
  store_unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

/** The body of every HTTP error: the stable code, a message, and any details the error carries. */
export type HttpErrorBody = { error: ErrorCode; message: string } & Record<string, string>;

/** The only way an error becomes an HTTP reply. */
export function renderHttpError(err: unknown): { status: number; body: HttpErrorBody; headers: Record<string, string> } {
  const e = asAuthError(err);
  const headers: Record<string, string> = {};
  if (e.retryAfter !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  return { status: HTTP_STATUS[e.code], body: { ...e.details, error: e.code, message: e.publicMessage }, headers };
}
