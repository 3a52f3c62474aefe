/**
 * The one error type of keygate. Every refusal, from any front door, is an
 * {@link AuthError} with a stable `code` from a closed union; the HTTP and socket
 * renderers below are the only places that turn errors into replies.
 */

/** Close codes for the websocket. 4000 + HTTP status for application refusals. */
export const WS_CLOSE = {
  normal: 1000,
  unsupportedData: 1003,
  tooBig: 1009,
  internal: 1011,
} as const;

const table = {
  invalid_request: { status: 400, close: 4400, message: 'The request is malformed.' },
  invalid_message: { status: 400, close: 4400, message: 'The message is malformed.' },
  unsupported_message: { status: 400, close: WS_CLOSE.unsupportedData, message: 'Binary messages are not accepted; send JSON text.' },
  unexpected_message: { status: 400, close: 4400, message: 'That message is not expected at this point of the handshake.' },
  invalid_pubkey: { status: 400, close: 4400, message: 'The public key is not a valid Ed25519 identity string.' },
  invalid_scope: { status: 400, close: 4400, message: 'The requested scope is not allowed.' },
  invalid_signature: { status: 401, close: 4401, message: 'The signature does not verify.' },
  challenge_expired: { status: 401, close: 4401, message: 'The challenge has expired.' },
  invalid_credentials: { status: 401, close: 4401, message: 'Invalid username or password.' },
  invalid_token: { status: 401, close: 4401, message: 'The token is invalid, expired or revoked.' },
  unauthorized: { status: 401, close: 4401, message: 'Authentication is required.' },
  origin_not_allowed: { status: 403, close: 4403, message: 'This origin is not allowed.' },
  forbidden: { status: 403, close: 4403, message: 'Not allowed.' },
  not_found: { status: 404, close: 4404, message: 'Not found.' },
  method_not_allowed: { status: 405, close: 4405, message: 'Method not allowed.' },
  handshake_timeout: { status: 408, close: 4408, message: 'The handshake took too long.' },
  request_timeout: { status: 408, close: 4408, message: 'The request took too long to arrive.' },
  duplicate_entity: { status: 409, close: 4409, message: 'That entity already exists.' },
  payload_too_large: { status: 413, close: WS_CLOSE.tooBig, message: 'The message is too large.' },
  unsupported_media_type: { status: 415, close: 4415, message: 'Send application/json.' },
  headers_too_large: { status: 431, close: 4431, message: 'The request headers are too large.' },
  account_locked: { status: 429, close: 4429, message: 'Too many failed logins for this account; try again later.' },
  rate_limited: { status: 429, close: 4429, message: 'Too many requests; try again later.' },
  server_error: { status: 500, close: WS_CLOSE.internal, message: 'Internal server error.' },
  server_busy: { status: 503, close: 4503, message: 'The server is busy; try again shortly.' },
  store_unavailable: { status: 503, close: 4503, message: 'A store keygate needs is unavailable; try again shortly.' },
} as const satisfies Record<string, { status: number; close: number; message: string }>;

/** Every error code keygate can answer with. */
export type ErrorCode = keyof typeof table;

export interface AuthErrorOptions {
  /** Seconds a client should wait before retrying (429/503). */
  retryAfter?: number;
  /** Internal detail for logs; never sent to clients. */
  cause?: unknown;
}

export class AuthError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly closeCode: number;
  /** Whether `message` may be shown to the client: true for every code but server_error. */
  readonly expose: boolean;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message?: string, options: AuthErrorOptions = {}) {
    super(message ?? table[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = code;
    this.status = table[code].status;
    this.closeCode = table[code].close;
    this.expose = code !== 'server_error';
    this.retryAfter = options.retryAfter;
  }
}

/** What went wrong in a store, in the store's own terms (no HTTP, no sockets). */
export type StoreErrorCode =
  /** A uniqueness rule was violated: the record exists already. */
  | 'conflict'
  /** The backend did not answer in time or refused the connection: try again later. */
  | 'unavailable';

/** The one error type of the storage layer. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = code;
  }
}

/** Seconds a client is told to wait when a store is unavailable. */
export const STORE_RETRY_AFTER_S = 2;

/** Anything thrown, as an AuthError; unknown errors become an unexposed `server_error`. */
export function asAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof StoreError) {
    if (err.code === 'unavailable') return new AuthError('store_unavailable', undefined, { cause: err, retryAfter: STORE_RETRY_AFTER_S });
    return new AuthError('duplicate_entity', undefined, { cause: err });
  }
  return new AuthError('server_error', undefined, { cause: err });
}

/** The only way an error becomes an HTTP reply. */
export function renderHttpError(err: unknown): {
  status: number;
  body: { error: ErrorCode; message: string };
  headers: Record<string, string>;
} {
  const e = asAuthError(err);
  const headers: Record<string, string> = {};
  if (e.retryAfter !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  const message = e.expose ? e.message : table.server_error.message;
  return { status: e.status, body: { error: e.code, message }, headers };
}

/** The only way an error becomes a websocket reply: the Textile error message and a close. */
export function renderSocketError(err: unknown): {
  message: { type: 'error'; value: string };
  closeCode: number;
  closeReason: string;
} {
  const e = asAuthError(err);
  const message = e.expose ? e.message : table.server_error.message;
  // Close reasons are limited to 123 bytes by the protocol; the code is always short.
  return { message: { type: 'error', value: message }, closeCode: e.closeCode, closeReason: e.code };
}
