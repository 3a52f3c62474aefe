/**
 * The token lifecycle: login sessions with rotating refresh tokens (and reuse
 * detection), verification of access tokens, introspection, logout and revocation.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify, type JWTPayload } from 'jose';
import { AuthError } from '../errors.js';
import type { Store, UserRecord } from '../store/types.js';
import { emitSafely, type CoreEmitter } from './events.js';
import type { Grant, Principal, Provisioner, TokenClaims } from './provision.js';
import type { KeyRing } from './signing-keys.js';

/** What a password login or a refresh hands back. */
export interface SessionGrant {
  grant: Grant;
  refreshToken: string;
}

/** RFC 7662 introspection response. */
export type Introspection = { active: false } | ({ active: true; token_type: 'Bearer' } & TokenClaims);

export interface TokenServiceOptions {
  store: Store;
  keys: KeyRing;
  provisioner: Provisioner;
  events: CoreEmitter;
  issuer: string;
  /** Session (refresh chain) lifetime in seconds. */
  refreshTtl: number;
  now?: () => number;
  onEventError?: (err: unknown) => void;
}

const REFRESH_PREFIX = 'rt_';
const hashRefresh = (token: string) => createHash('sha256').update(token).digest('hex');

export class TokenService {
  private readonly now: () => number;

  constructor(private readonly options: TokenServiceOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  /** Starts a login session for a password user: an access token and its first refresh token. */
  async startSession(user: UserRecord, scope?: string): Promise<SessionGrant> {
    const now = this.now();
    const sid = randomUUID();
    await this.options.store.createSession({ sid, sub: user.id, createdAt: now, expiresAt: now + this.options.refreshTtl * 1000, revokedAt: null });
    const grant = await this.options.provisioner.issue(passwordPrincipal(user), { scope, sid });
    return { grant, refreshToken: await this.newRefreshToken(sid, now + this.options.refreshTtl * 1000) };
  }

  /** Exchanges a refresh token for a new access token and refresh token (rotation). */
  async refresh(refreshToken: unknown): Promise<SessionGrant> {
    if (typeof refreshToken !== 'string' || refreshToken.length === 0 || refreshToken.length > 512) {
      throw new AuthError('invalid_request', 'refreshToken must be a non-empty string.');
    }
    const { store } = this.options;
    const now = this.now();
    const result = await store.consumeRefreshToken(hashRefresh(refreshToken), now);
    if (result.outcome === 'unknown') throw new AuthError('invalid_token', 'The refresh token is not valid.');
    const session = await store.getSession(result.token.sid);
    if (result.outcome === 'reused') {
      await store.revokeSession(result.token.sid, now);
      this.emitRevoked(session?.sub, result.token.sid, 'refresh token reused');
      throw new AuthError('invalid_token', 'The refresh token was already used; every token of its login is now revoked.');
    }
    if (!session || session.revokedAt !== null || result.token.expiresAt <= now || session.expiresAt <= now) {
      throw new AuthError('invalid_token', 'The refresh token has expired or was revoked.');
    }
    const user = await store.getUserById(session.sub);
    if (!user || user.disabled) throw new AuthError('invalid_token', 'The account is disabled.');
    const grant = await this.options.provisioner.issue(passwordPrincipal(user), { sid: session.sid });
    return { grant, refreshToken: await this.newRefreshToken(session.sid, session.expiresAt) };
  }

  /** Verifies an access token's signature, expiry and revocation state; throws invalid_token. */
  async verify(token: unknown): Promise<TokenClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw new AuthError('invalid_token');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, async (header) => {
        const key = header.kid === undefined ? undefined : this.options.keys.publicKey(header.kid);
        if (!key) throw new AuthError('invalid_token', 'Unknown signing key.');
        return key;
      }, { issuer: this.options.issuer, algorithms: ['EdDSA'], currentDate: new Date(this.now()) }));
    } catch (err) {
      throw new AuthError('invalid_token', undefined, { cause: err });
    }
    const claims = payload as unknown as TokenClaims;
    if (typeof claims.jti !== 'string' || typeof claims.sub !== 'string' || typeof claims.iat !== 'number') {
      throw new AuthError('invalid_token');
    }
    if (await this.isRevoked(claims)) throw new AuthError('invalid_token', 'The token was revoked.');
    return claims;
  }

  private async isRevoked(claims: TokenClaims): Promise<boolean> {
    const { store } = this.options;
    const [jtiRevoked, session, subjectRevokedAt] = await Promise.all([
      store.isTokenRevoked(claims.jti),
      claims.sid === undefined ? undefined : store.getSession(claims.sid),
      store.subjectRevokedAt(claims.sub),
    ]);
    if (jtiRevoked) return true;
    if (claims.sid !== undefined && (!session || session.revokedAt !== null)) return true;
    if (subjectRevokedAt !== undefined && claims.iat * 1000 <= subjectRevokedAt) return true;
    if (claims.amr?.[0] === 'pwd') {
      const user = await store.getUserById(claims.sub);
      if (!user || user.disabled) return true;
    }
    return false;
  }

  /** RFC 7662: {active:false} for anything that is not a live token of ours. */
  async introspect(token: unknown): Promise<Introspection> {
    try {
      return { active: true, token_type: 'Bearer', ...(await this.verify(token)) };
    } catch (err) {
      if (err instanceof AuthError && err.code === 'invalid_token') return { active: false };
      throw err;
    }
  }

  /** Revokes an access token and, if it belongs to a login session, the whole session. */
  async logout(token: unknown): Promise<TokenClaims> {
    const claims = await this.verify(token);
    await this.revokeClaims(claims, 'logout');
    return claims;
  }

  /** Revokes a token given as a JWT (even an expired one is accepted and ignored). */
  async revokeClaims(claims: TokenClaims, reason: string): Promise<void> {
    const { store } = this.options;
    await store.revokeToken(claims.jti, claims.exp * 1000);
    if (claims.sid !== undefined) await store.revokeSession(claims.sid, this.now());
    this.emitRevoked(claims.sub, claims.sid, reason, claims.jti);
  }

  /** Revokes every token and session of a subject issued up to now. */
  async revokeSubject(sub: string, reason: string): Promise<void> {
    const now = this.now();
    await this.options.store.revokeSubject(sub, now);
    await this.options.store.revokeSessionsOfSubject(sub, now);
    this.emitRevoked(sub, undefined, reason);
  }

  /** A fresh grant for the holder of a live access token (GET /api/userauth). */
  async reissue(token: unknown): Promise<Grant> {
    const claims = await this.verify(token);
    let principal: Principal = { method: 'keypair', id: claims.sub };
    if (claims.amr?.[0] === 'pwd') {
      const user = await this.options.store.getUserById(claims.sub);
      if (!user || user.disabled) throw new AuthError('invalid_token');
      principal = passwordPrincipal(user);
    }
    return this.options.provisioner.issue(principal, { scope: claims.scope, sid: claims.sid });
  }

  private async newRefreshToken(sid: string, expiresAt: number): Promise<string> {
    const token = REFRESH_PREFIX + randomBytes(32).toString('base64url');
    await this.options.store.addRefreshToken({ hash: hashRefresh(token), sid, createdAt: this.now(), expiresAt, usedAt: null });
    return token;
  }

  private emitRevoked(sub: string | undefined, sid: string | undefined, reason: string, jti?: string): void {
    emitSafely(this.options.events, 'token.revoked', { sub, sid, jti, reason }, this.options.onEventError);
  }
}

export function passwordPrincipal(user: UserRecord): Principal {
  return { method: 'password', id: user.id, roles: user.roles };
}
