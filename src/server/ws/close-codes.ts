/** The websocket door's rendering of errors: the Textile error message and each code's close code. */
import { asAuthError, type ErrorCode } from '../../errors.js';

/** Close codes of the protocol itself. */
export const WS_CLOSE = {
  normal: 1000,
  unsupportedData: 1003,
  tooBig: 1009,
  internal: 1011,
} as const;

/** 4000 + the HTTP status for application refusals; protocol codes where the protocol has one. */
export const CLOSE_CODE = {
  invalid_request: 4400,
  invalid_message: 4400,
  unsupported_message: WS_CLOSE.unsupportedData,
  unexpected_message: 4400,
  invalid_pubkey: 4400,
  invalid_scope: 4400,
  invalid_resources: 4400,
  no_challenge: 4400,
  invalid_signature: 4401,
  challenge_expired: 4401,
  invalid_credentials: 4401,
  invalid_token: 4401,
  unauthorized: 4401,
  origin_not_allowed: 4403,
  forbidden: 4403,
  account_disabled: 4403,
  not_found: 4404,
  method_not_allowed: 4405,
  handshake_timeout: 4408,
  request_timeout: 4408,
  duplicate_entity: 4409,
  already_completed: 4409,
  login_pending: 4409,
  already_read: 4410,
  roles_missing: 4403,
  key_linked: 4409,
  last_credential: 4409,
  payload_too_large: WS_CLOSE.tooBig,
  unsupported_media_type: 4415,
  account_locked: 4429,
  rate_limited: 4429,
  headers_too_large: 4431,
  server_error: WS_CLOSE.internal,
  server_busy: 4503,
  shutting_down: 4503,
  store_unavailable: 4503,
} as const satisfies Record<ErrorCode, number>;

/** The only way an error becomes a websocket reply: the Textile error message and a close. */
export function renderSocketError(err: unknown): {
  message: { type: 'error'; value: string };
  closeCode: number;
  closeReason: string;
} {
  const e = asAuthError(err);
  // Close reasons are limited to 123 bytes by the protocol; the code is always short.
  return { message: { type: 'error', value: e.publicMessage }, closeCode: CLOSE_CODE[e.code], closeReason: e.code };
}
