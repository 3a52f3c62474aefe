/**
 * The provisioning core: an authenticated principal in, a grant out. Every front door
 * (websocket keypair login, HTTP password login, refresh) issues tokens only here.
 */
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import { AuthError } from '../errors.js';
import { createApiSig } from './api-sig.js';
import { emitSafely, type AuthMethod, type CoreEmitter, type IssueKind, type LoginDoor } from './events.js';
import type { KeyRing } from './signing-keys.js';

/** Someone whose identity a front door has proven (or an app backend vouches for). */
export interface Principal {
  method: AuthMethod;
  /** The subject: the account's id. */
  id: string;
  /** Scopes this principal may be granted: its account's roles. */
  roles?: readonly string[];
  /** The key a keypair login proved, when there was one. */
  pubkey?: string;
}

/** A resource an app backend grants with a provisioned token (Room Service style). */
export interface Resource {
  object: string;
  reference: string;
  permission?: string;
}

/** The Hub's UserAuth, as `Client.withUserAuth` consumes it. */
export interface UserAuth {
  /** USER_API_KEY. */
  key: string;
  /** createAPISig(secret, new Date(msg)).sig */
  sig: string;
  /** The grant's expiry, ISO 8601: the client refreshes when it has passed. */
  msg: string;
  /** The JWT. */
  token: string;
}

/** The claims of every token keygate signs. */
export interface TokenClaims {
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  /** RFC 8176 method: 'pop' (proof of possession of a key) or 'pwd'; none for a provisioned token. */
  amr?: ['pop'] | ['pwd'];
  scope?: string;
  /** The key a keypair login proved (the subject is its account). */
  pubkey?: string;
  /** What a provisioned token grants, exactly as the app backend asked. */
  resources?: Resource[];
  /** The login session (revocable chain) the token belongs to. Tokens issued before 0.2 may lack it. */
  sid?: string;
}

export interface Grant {
  userAuth: UserAuth;
  claims: TokenClaims;
  kid: string;
  expiresAt: Date;
}

export interface IssueOptions {
  /** The scope granted (decided by the caller with grantScope or narrowScope); none when undefined. */
  scope?: string;
  /** The login session (revocable chain) the token belongs to; every token has one. */
  sid: string;
  /** The session's end (ms since the epoch): the token never outlives it. */
  notAfter?: number;
  /**
   * The exact expiry (seconds since the epoch) instead of iat + TOKEN_TTL: a keypair login's
   * copies all end with its first token, whatever TOKEN_TTL is now.
   */
  exp?: number;
  /** The resources of a provisioned token. */
  resources?: Resource[];
  /** Why it is issued (default: a login), and for a login its door; for events and metrics. */
  kind?: IssueKind;
  door?: LoginDoor;
}

const AMR = { keypair: ['pop'], password: ['pwd'] } as const;

export interface ProvisionerOptions {
  keys: KeyRing;
  events: CoreEmitter;
  apiKey: string;
  apiSecret: Uint8Array;
  issuer: string;
  /** Token lifetime in seconds. */
  tokenTtl: number;
  now?: () => number;
  onEventError?: (err: unknown) => void;
}

/** RFC 6749 scope-token: printable ASCII but space, " and \ (at most 64 here). A role is one too. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
/** Limit: roles one principal may hold. */
export const ROLES_MAX = 64;

/** Checks roles before they are stored: each must be a scope token, or it could never be granted as itself. */
export function validateRoles(roles: unknown): string[] {
  if (!Array.isArray(roles) || roles.length > ROLES_MAX) throw new AuthError('invalid_request', `roles must be a list of at most ${ROLES_MAX} role names.`);
  for (const role of roles) {
    if (typeof role !== 'string' || !SCOPE_TOKEN.test(role)) {
      throw new AuthError('invalid_request', 'Each role must be 1 to 64 printable ASCII characters without spaces, quotes or backslashes.');
    }
  }
  return [...new Set(roles as string[])];
}

/** Splits and checks a requested scope against what the principal may have. */
export function grantScope(principal: Principal, requested: string | undefined): string | undefined {
  // Roles are checked when stored; one stored before that check and not a scope token is never granted.
  const allowed = (principal.roles ?? []).filter((r) => SCOPE_TOKEN.test(r));
  if (requested === undefined) return allowed.length > 0 ? allowed.join(' ') : undefined;
  const wanted = requested.split(' ').filter(Boolean);
  if (requested.length > 1024 || wanted.length === 0 || !wanted.every((s) => SCOPE_TOKEN.test(s))) {
    throw new AuthError('invalid_scope', 'scope must be space-separated tokens of printable ASCII.');
  }
  const refused = wanted.filter((s) => !allowed.includes(s));
  if (refused.length > 0) throw new AuthError('invalid_scope', `Scope not allowed: ${refused.join(' ')}.`);
  return [...new Set(wanted)].join(' ');
}

/**
 * The scope a descendant of a login keeps: the login's own scope, less any role the
 * principal has lost since. Never wider than either; undefined when nothing is left.
 */
export function narrowScope(scope: string | null | undefined, roles: readonly string[]): string | undefined {
  const kept = (scope ?? '').split(' ').filter((s) => s !== '' && roles.includes(s));
  return kept.length > 0 ? kept.join(' ') : undefined;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A compact JWS (RFC 7515) signed with Ed25519 by node:crypto directly: jose's SignJWT goes
 * through WebCrypto and costs twice as much per token (bench/FINDINGS.md). Tokens are
 * verified with jose everywhere, in the tests too.
 */
function signJwt(claims: TokenClaims, kid: string, privateKey: KeyObject): string {
  const input = `${b64url({ alg: 'EdDSA', typ: 'JWT', kid })}.${b64url(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

export class Provisioner {
  private readonly now: () => number;
  /** The API signature of the last expiry second signed for. */
  private lastSig: { at: number; sig: string; msg: string } | undefined;

  constructor(private readonly options: ProvisionerOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  /** Issues a signed token and its UserAuth for a proven principal. */
  async issue(principal: Principal, options: IssueOptions): Promise<Grant> {
    const { keys, apiKey, apiSecret, issuer, tokenTtl, events } = this.options;
    const { scope, sid, notAfter } = options;
    const iat = Math.floor(this.now() / 1000);
    const exp = options.exp ?? Math.min(iat + tokenTtl, notAfter === undefined ? Infinity : Math.floor(notAfter / 1000));
    if (exp <= iat) throw new AuthError('invalid_token', 'The login session has ended; log in again.');
    const claims: TokenClaims = {
      iss: issuer,
      sub: principal.id,
      iat,
      exp,
      jti: randomUUID(),
      ...(principal.method === 'provision' ? {} : { amr: [...AMR[principal.method]] as ['pop'] | ['pwd'] }),
      ...(scope === undefined ? {} : { scope }),
      ...(principal.pubkey === undefined ? {} : { pubkey: principal.pubkey }),
      ...(options.resources === undefined ? {} : { resources: options.resources }),
      sid,
    };
    const { kid, privateKey } = keys.current();
    const token = signJwt(claims, kid, privateKey);
    const expiresAt = new Date(claims.exp * 1000);
    // Every token expiring in the same second has the same API signature: made once per second.
    if (this.lastSig?.at !== expiresAt.getTime()) this.lastSig = { at: expiresAt.getTime(), ...createApiSig(apiSecret, expiresAt) };
    const { sig, msg } = this.lastSig;
    emitSafely(events, 'grant.issued', {
      method: principal.method, kind: options.kind ?? 'login', ...(options.door === undefined ? {} : { door: options.door }), sub: claims.sub, jti: claims.jti, kid, exp: claims.exp, scope,
    }, this.options.onEventError);
    return { userAuth: { key: apiKey, sig, msg, token }, claims, kid, expiresAt };
  }
}
