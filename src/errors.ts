/**
 * The one error type of keygate. Every refusal, from any front door, is an
 * {@link AuthError} with a stable `code` from a closed union. Errors know nothing of HTTP
 * statuses or websocket close codes: each front door's renderer maps the code
 * (src/server/http/error-status.ts, src/server/ws/close-codes.ts).
 */

const table = {
  invalid_request: 'The request is malformed.',
  invalid_message: 'The message is malformed.',
  unsupported_message: 'Binary messages are not accepted; send JSON text.',
  unexpected_message: 'That message is not expected at this point of the handshake.',
  invalid_pubkey: 'The public key is not a valid Ed25519 identity string.',
  invalid_scope: 'The requested scope is not allowed.',
  invalid_resources: 'The resources are malformed.',
  no_challenge: 'No challenge is pending for this key (it expired or was used); ask for a new one.',
  invalid_signature: 'The signature does not verify.',
  challenge_expired: 'The challenge has expired.',
  invalid_credentials: 'Invalid username or password.',
  invalid_token: 'The token is invalid, expired or revoked.',
  unauthorized: 'Authentication is required.',
  origin_not_allowed: 'This origin is not allowed.',
  forbidden: 'Not allowed.',
  account_disabled: 'This account is disabled.',
  not_found: 'Not found.',
  method_not_allowed: 'Method not allowed.',
  handshake_timeout: 'The handshake took too long.',
  request_timeout: 'The request took too long to arrive.',
  duplicate_entity: 'That entity already exists.',
  already_completed: 'This login request was completed already.',
  login_pending: 'Nobody has logged in for this login request yet.',
  already_read: 'The details of this login were read already.',
  roles_missing: 'Your account lacks the roles this app requires.',
  key_linked: 'That key is linked to an account already.',
  last_credential: 'An account must keep a way to log in.',
  payload_too_large: 'The message is too large.',
  unsupported_media_type: 'Send application/json.',
  headers_too_large: 'The request headers are too large.',
  account_locked: 'Too many failed logins for this account; try again later.',
  rate_limited: 'Too many requests; try again later.',
  server_error: 'Internal server error.',
  server_busy: 'The server is busy; try again shortly.',
  shutting_down: 'The server is shutting down; try again shortly.',
  store_unavailable: 'A store keygate needs is unavailable; try again shortly.',
} as const satisfies Record<string, string>;

/** Every error code keygate can answer with. */
export type ErrorCode = keyof typeof table;

/** Every error code, for the renderers' tables and their tests. */
export const ERROR_CODES = Object.keys(table) as ErrorCode[];

/** Codes that mean the server, not the client, failed (a fault or overload): front doors log these. */
export const SERVER_SIDE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['server_error', 'server_busy', 'store_unavailable', 'shutting_down']);

/** Whether a string is one of the error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(table, code);
}

export interface AuthErrorOptions {
  /** Seconds a client should wait before retrying (429/503). */
  retryAfter?: number;
  /** Internal detail for logs; never sent to clients. */
  cause?: unknown;
  /** Facts a client may act on, sent with the code (e.g. the id of the account that exists already). */
  details?: Readonly<Record<string, string>>;
}

export class AuthError extends Error {
  readonly code: ErrorCode;
  /** Whether `message` may be shown to the client: true for every code but server_error. */
  readonly expose: boolean;
  readonly retryAfter: number | undefined;
  readonly details: Readonly<Record<string, string>> | undefined;

  constructor(code: ErrorCode, message?: string, options: AuthErrorOptions = {}) {
    if (!isErrorCode(code)) throw new TypeError(`Unknown error code ${String(code)}`);
    super(message ?? table[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = code;
    this.expose = code !== 'server_error';
    this.retryAfter = options.retryAfter;
    this.details = options.details;
  }

  /** The message a client may see: its own, or the generic one for server_error. */
  get publicMessage(): string {
    return this.expose ? this.message : table.server_error;
  }
}

/** What went wrong in a store, in the store's own terms (no HTTP, no sockets). */
export type StoreErrorCode =
  /** A uniqueness rule was violated: the record exists already. */
  | 'conflict'
  /** The backend did not answer in time or refused the connection: try again later. */
  | 'unavailable'
  /** The backend cannot take a value as given (e.g. a NUL character in text on PostgreSQL). */
  | 'invalid_input';

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
    if (err.code === 'invalid_input') return new AuthError('invalid_request', 'A value in the request cannot be used (control characters?).', { cause: err });
    return new AuthError('duplicate_entity', undefined, { cause: err });
  }
  return new AuthError('server_error', undefined, { cause: err });
}
