/**
 * Typed events of the provisioning core. Audit logs, metrics and webhooks hang off
 * these; emitting never blocks or fails a login.
 */
import Emittery from 'emittery';
import type { ErrorCode } from '../errors.js';

/** How a principal proved who it is. */
export type AuthMethod = 'keypair' | 'password' | 'provision';

/** The front door a login came through. */
export type LoginDoor = 'websocket' | 'http_challenge' | 'password' | 'provision';

/** Why a token was issued: a new login, a refresh-token rotation, a reissued copy (GET /api/userauth), or provisioning. */
export type IssueKind = 'login' | 'refresh' | 'reissue' | 'provision';

export interface GrantIssuedEvent {
  method: AuthMethod;
  kind: IssueKind;
  /** For logins: the door it came through. */
  door?: LoginDoor;
  /** The token's subject. */
  sub: string;
  jti: string;
  kid: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  scope: string | undefined;
}

export interface LoginRefusedEvent {
  method: AuthMethod;
  door: LoginDoor;
  code: ErrorCode;
  /** Human text of the refusal (never a secret). */
  reason: string;
  /** The subject that tried, when known (a public key string or user id). */
  subject?: string;
  /** The client address, when the front door knows it. */
  address?: string;
}

export interface TokenRevokedEvent {
  sub: string | undefined;
  /** The login session revoked with it, if any. */
  sid: string | undefined;
  jti: string | undefined;
  /** 'logout', 'refresh token reused', 'admin', ... */
  reason: string;
}

export interface AccountChangedEvent {
  /** The account's id. */
  id: string;
  change: 'created' | 'roles' | 'disabled' | 'enabled' | 'deleted' | 'key_linked' | 'key_unlinked';
  /** For 'created': what made it ('api', 'keypair login', 'provision', 'registration'). */
  by?: string;
  /** For key changes: the key. */
  pubkey?: string;
  /** For 'roles': the roles now. */
  roles?: string[];
}

export interface LoginRequestEvent {
  stage: 'created' | 'completed' | 'redeemed';
  /** Who logged in (completed, redeemed). */
  userId?: string;
}

export interface KeysRotatedEvent {
  /** The key that signs from now on. */
  kid: string;
}

/** Every event the core emits, by name. */
export interface CoreEvents {
  'grant.issued': GrantIssuedEvent;
  'login.refused': LoginRefusedEvent;
  'token.revoked': TokenRevokedEvent;
  'account.changed': AccountChangedEvent;
  'login_request': LoginRequestEvent;
  'keys.rotated': KeysRotatedEvent;
}

export type CoreEmitter = Emittery<CoreEvents>;

export function createEmitter(): CoreEmitter {
  return new Emittery<CoreEvents>();
}

/** Emits without waiting and without letting a failing listener fail the caller. */
export function emitSafely<K extends keyof CoreEvents>(
  events: CoreEmitter,
  name: K,
  data: CoreEvents[K],
  onError?: (err: unknown) => void,
): void {
  events.emit(name, data).catch((err: unknown) => onError?.(err));
}
