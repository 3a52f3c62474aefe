/**
 * The token lifecycle. Every login is a session, a revocable chain: a password login's
 * session is stored with its rotating refresh tokens; a keypair login's lives in its
 * tokens' `sid` until it is ended. Every token descends from one login, keeps that
 * login's scope (never wider) and never outlives it; ending the session ends them all.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { compactVerify, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AuthError } from '../errors.js';
import type { AccountRecord, RefreshTokenRecord, SessionRecord, RecordStore } from '../store/records.js';
import { emitSafely, type AuthMethod, type CoreEmitter, type TokenRevokedEvent } from './events.js';
import type { Limits } from './limits.js';
import { LiveChecks } from './live-checks.js';
import { grantScope, narrowScope, type Grant, type Principal, type Provisioner, type TokenClaims } from './provision.js';
import type { KeyRing } from './signing-keys.js';

/** What a password login or a refresh hands back. */
export interface SessionGrant {
  grant: Grant;
  refreshToken: string;
}

/** RFC 7662 introspection response. */
export type Introspection = { active: false } | ({ active: true; token_type: 'Bearer' } & TokenClaims);

export interface TokenServiceOptions {
  store: RecordStore;
  keys: KeyRing;
  provisioner: Provisioner;
  events: CoreEmitter;
  limits: Limits;
  issuer: string;
  /** Access token lifetime in seconds. */
  tokenTtl: number;
  /** Session (refresh chain) lifetime in seconds. */
  refreshTtl: number;
  /** How long a just-used refresh token is answered with its successor instead of counting as reuse. */
  refreshReuseIntervalMs: number;
  /** Key of the HMAC that derives a refresh token's successor from it. */
  refreshSecret: Uint8Array;
  /** How long this instance may trust its own check that a token is live (0: not at all). */
  revocationCacheMs: number;
  now?: () => number;
  onEventError?: (err: unknown) => void;
}

const REFRESH_PREFIX = 'rt_';
/** Limit: how long a key's account is remembered at most, even when nothing changes (seconds). */
export const KEY_ACCOUNT_REMEMBER_S = 60;
/** Limit: the longest token (access or refresh) looked at. */
export const TOKEN_MAX = 8192;
const hashRefresh = (token: string) => createHash('sha256').update(token).digest('hex');

/** A live token's claims and its stored session, if the session was stored. */
interface Verified {
  claims: TokenClaims;
  session: SessionRecord | undefined;
  exp: number;
}

function checkClaims(payload: JWTPayload): TokenClaims {
  const claims = payload as unknown as TokenClaims;
  if (typeof claims.jti !== 'string' || typeof claims.sub !== 'string' || typeof claims.iat !== 'number' || typeof claims.exp !== 'number') {
    throw new AuthError('invalid_token');
  }
  return claims;
}

export class TokenService {
  private readonly now: () => number;
  private readonly signingKey: JWTVerifyGetKey;
  private readonly checks: LiveChecks<Verified>;
  /** The accounts of keys that logged in lately, remembered like token checks (a handshake then reads nothing). */
  private readonly keyAccounts: LiveChecks<{ account: AccountRecord; exp: number }>;
  private confirming: Promise<void> | undefined;

  constructor(private readonly options: TokenServiceOptions) {
    this.now = options.now ?? (() => Date.now());
    this.checks = new LiveChecks(options.revocationCacheMs);
    this.keyAccounts = new LiveChecks(options.revocationCacheMs);
    this.signingKey = async (header) => {
      const key = header.kid === undefined ? undefined : options.keys.publicKey(header.kid);
      if (!key) throw new AuthError('invalid_token', 'Unknown signing key.');
      return key;
    };
  }

  /** Starts a password login: its session and first refresh token in one commit, and an access token. */
  async startSession(user: AccountRecord, requestedScope?: string): Promise<SessionGrant> {
    const principal = accountPrincipal(user, 'password');
    const scope = grantScope(principal, requestedScope);
    const now = this.now();
    const session: SessionRecord = { sid: randomUUID(), sub: user.id, createdAt: now, expiresAt: now + this.options.refreshTtl * 1000, revokedAt: null, scope: scope ?? null };
    const refreshToken = REFRESH_PREFIX + randomBytes(32).toString('base64url');
    const first: RefreshTokenRecord = { hash: hashRefresh(refreshToken), sid: session.sid, createdAt: now, expiresAt: session.expiresAt, usedAt: null, replacedBy: null };
    await this.options.store.createSession(session, first);
    const grant = await this.options.provisioner.issue(principal, { scope, sid: session.sid, notAfter: session.expiresAt, kind: 'login', door: 'password' });
    return { grant, refreshToken };
  }

  /**
   * Exchanges a refresh token for a new access token and its successor, in one commit.
   * The successor is derived from the token (an HMAC under a server key), so a repeat of
   * a just-used token within REFRESH_REUSE_INTERVAL_MS gets the same successor back (a lost
   * reply, two tabs at once); any other second use revokes the whole session.
   */
  async refresh(refreshToken: unknown): Promise<SessionGrant> {
    if (typeof refreshToken !== 'string' || !refreshToken.startsWith(REFRESH_PREFIX) || refreshToken.length > TOKEN_MAX) {
      throw new AuthError('invalid_request', 'refreshToken must be a refresh token string (rt_...).');
    }
    const { store, refreshSecret, refreshReuseIntervalMs } = this.options;
    const now = this.now();
    const successor = REFRESH_PREFIX + createHmac('sha256', refreshSecret).update(refreshToken).digest('base64url');
    const result = await store.rotateRefreshToken({
      hash: hashRefresh(refreshToken),
      successor: { hash: hashRefresh(successor), createdAt: now, usedAt: null, replacedBy: null },
      at: now,
      reuseIntervalMs: refreshReuseIntervalMs,
    });
    if (result.outcome === 'unknown') throw new AuthError('invalid_token', 'The refresh token is not valid.');
    const { session, token } = result;
    if (result.outcome === 'reused') {
      // The store revoked the session in the same commit that found the reuse.
      await this.revoking({ sub: session?.sub, sid: token.sid, jti: undefined, reason: 'refresh token reused' });
      throw new AuthError('invalid_token', 'The refresh token was already used; every token of its login is now revoked.');
    }
    if (!session || session.revokedAt !== null || token.expiresAt <= now || session.expiresAt <= now) {
      throw new AuthError('invalid_token', 'The refresh token has expired or was revoked.');
    }
    const user = await store.getAccount(session.sub);
    if (!user || user.disabled) throw new AuthError('invalid_token', 'The account is disabled.');
    const grant = await this.options.provisioner.issue(accountPrincipal(user, 'password'), {
      scope: narrowScope(session.scope, user.roles), sid: session.sid, notAfter: session.expiresAt, kind: 'refresh',
    });
    return { grant, refreshToken: successor };
  }

  /** Verifies an access token's signature, expiry and revocation state; throws invalid_token. */
  async verify(token: unknown): Promise<TokenClaims> {
    return (await this.verifyLive(token)).claims;
  }

  private async verifyLive(token: unknown): Promise<Verified> {
    if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_MAX) throw new AuthError('invalid_token');
    const now = this.now();
    if (this.checks.needsConfirmation(now)) await this.confirmRevocationEpoch(now);
    const remembered = this.checks.get(token, now);
    if (remembered?.fresh) return remembered.value;
    const begun = this.checks.begin();
    // A token verified before needs only its revocation check again, not its signature.
    const claims = remembered?.value.claims ?? await this.verifySignature(token, now);
    const session = await this.liveSession(claims);
    const verified = { claims, session, exp: claims.exp };
    this.checks.remember(token, verified, begun);
    return verified;
  }

  /** Reads the store's revocation epoch, once for every request that needs it at the same time. */
  private confirmRevocationEpoch(now: number): Promise<void> {
    this.confirming ??= this.options.store.revocationEpoch()
      .then((epoch) => {
        this.checks.confirm(epoch, now);
        this.keyAccounts.confirm(epoch, now);
      })
      .finally(() => (this.confirming = undefined));
    return this.confirming;
  }

  private async verifySignature(token: string, now: number): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.signingKey, { issuer: this.options.issuer, algorithms: ['EdDSA'], currentDate: new Date(now) });
      return checkClaims(payload);
    } catch (err) {
      throw new AuthError('invalid_token', undefined, { cause: err });
    }
  }

  /** Forgets every remembered check: called for every revocation, here or on another instance. */
  forgetChecks(): void {
    this.checks.forget();
    this.keyAccounts.forget();
  }

  /**
   * The account a key is linked to, as the handshake reads it before its challenge. A key
   * with an account is remembered until something changes anywhere (every account change
   * moves the revocation epoch, see {@link accountChanged}), for at most
   * KEY_ACCOUNT_REMEMBER_S; a key without one is read every time (its first login makes it).
   */
  async accountOfKey(pubkey: string): Promise<AccountRecord | undefined> {
    const now = this.now();
    if (this.keyAccounts.needsConfirmation(now)) await this.confirmRevocationEpoch(now);
    const remembered = this.keyAccounts.get(pubkey, now);
    if (remembered?.fresh) return remembered.value.account;
    const begun = this.keyAccounts.begin();
    const account = await this.options.store.getAccountByKey(pubkey);
    if (account) this.keyAccounts.remember(pubkey, { account, exp: Math.floor(now / 1000) + KEY_ACCOUNT_REMEMBER_S }, begun);
    return account;
  }

  /**
   * After an account change that ends no token (roles, a linked key): the epoch moves, so
   * every instance forgets what it remembered within REVOCATION_CACHE_MS (at once when the
   * core announces the change on Redis), and this one forgets now.
   */
  async accountChanged(): Promise<void> {
    await this.options.store.bumpRevocationEpoch();
    this.forgetChecks();
  }

  /** Throws invalid_token unless nothing has ended the token: its jti, its session, its subject or key, its account. */
  private async liveSession(claims: TokenClaims): Promise<SessionRecord | undefined> {
    const { jtiRevoked, session, subjectRevokedAt, account, keyLinked } = await this.options.store.tokenStanding({ jti: claims.jti, sid: claims.sid, sub: claims.sub, pubkey: claims.pubkey });
    const revoked = () => new AuthError('invalid_token', 'The token was revoked.');
    if (jtiRevoked) throw revoked();
    if (session && (session.revokedAt !== null || session.sub !== claims.sub)) throw revoked();
    if (session && session.expiresAt <= this.now()) throw new AuthError('invalid_token', 'The login session has expired.');
    if (subjectRevokedAt !== undefined && claims.iat * 1000 <= subjectRevokedAt) throw revoked();
    if (account?.disabled) throw new AuthError('invalid_token', 'The account is disabled.');
    // A keypair login holds only while its key is linked to the account it logged in to.
    if (keyLinked === false) throw revoked();
    // Every token is an account's, but for keypair tokens from before accounts (no pubkey claim).
    if (!account && !isPreAccountToken(claims)) throw revoked();
    // A password login's session is always stored; gone means purged or never ours.
    if (claims.amr?.[0] === 'pwd' && claims.sid !== undefined && !session) throw revoked();
    return session;
  }

  /**
   * A live access token's claims and when the login it descends from began (ms): its stored
   * session's start, to the millisecond, or for a keypair login its first token's issue, to
   * the second (every copy keeps that token's exp, which is its iat + TOKEN_TTL).
   */
  async loginOf(token: unknown): Promise<{ claims: TokenClaims; startedAt: number; precisionMs: 1 | 1000 }> {
    const { claims, session } = await this.verifyLive(token);
    return session ? { claims, startedAt: session.createdAt, precisionMs: 1 } : { claims, startedAt: (claims.exp - this.options.tokenTtl) * 1000, precisionMs: 1000 };
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

  /** Ends the login of a live access token: the token, every copy and descendant of it, and its refresh chain. */
  async logout(token: unknown): Promise<TokenClaims> {
    const claims = await this.verify(token);
    await this.revokeClaims(claims, 'logout');
    return claims;
  }

  /**
   * RFC 7009 style revocation by the token's holder: a refresh token or an access token
   * (expired or not) ends its login. Anything that is not a token of ours is ignored, as
   * the RFC asks. Returns whether a login was ended.
   */
  async revoke(token: unknown, reason = 'revoked by its holder'): Promise<boolean> {
    if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_MAX) {
      throw new AuthError('invalid_request', 'token must be a refresh token or an access token.');
    }
    if (token.startsWith(REFRESH_PREFIX)) {
      const { store } = this.options;
      const record = await store.getRefreshToken(hashRefresh(token));
      const session = record && await store.getSession(record.sid);
      if (!record || !session) return false;
      await this.revoking({ sub: session.sub, sid: session.sid, jti: undefined, reason }, () => store.endSession(session, this.now()));
      return true;
    }
    const claims = await this.signedClaims(token).catch(() => undefined);
    if (!claims) return false;
    await this.revokeClaims(claims, reason);
    return true;
  }

  /** The claims of a JWT this server signed, expired or not; throws invalid_token otherwise. */
  async signedClaims(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await compactVerify(token, this.signingKey, { algorithms: ['EdDSA'] });
      const claims = checkClaims(JSON.parse(Buffer.from(payload).toString('utf8')) as JWTPayload);
      if (claims.iss !== this.options.issuer) throw new AuthError('invalid_token');
      return claims;
    } catch (err) {
      throw new AuthError('invalid_token', undefined, { cause: err });
    }
  }

  /**
   * Revokes a token and its whole login session. The session is ended first: if the second
   * write fails, the login is already over, and a retry that is refused as revoked is right.
   * (The other order left a token refused while its session, its refresh chain and its copies
   * lived on, with no way for the client to log out again.)
   */
  async revokeClaims(claims: TokenClaims, reason: string): Promise<void> {
    const { store, tokenTtl } = this.options;
    const now = this.now();
    await this.revoking({ sub: claims.sub, sid: claims.sid, jti: claims.jti, reason }, async () => {
      if (claims.sid !== undefined) {
        // A stored session keeps its own end. A keypair session is stored from now on: all its
        // tokens share the first one's exp, and none issued by now outlives now + TOKEN_TTL.
        await store.endSession({ sid: claims.sid, sub: claims.sub, expiresAt: Math.max(claims.exp * 1000, now + tokenTtl * 1000) }, now);
      }
      await store.revokeToken(claims.jti, claims.exp * 1000);
    });
  }

  /** Revokes every token and session of a subject issued up to now. */
  async revokeSubject(sub: string, reason: string): Promise<void> {
    const now = this.now();
    await this.revoking({ sub, sid: undefined, jti: undefined, reason }, async () => {
      await this.options.store.revokeSubject(sub, now);
      await this.options.store.revokeSessionsOfSubject(sub, now);
    });
  }

  /**
   * A fresh grant for the holder of a live access token (GET /api/userauth): same
   * session, same or narrower scope, never past the session's end. Charged per subject.
   */
  async reissue(token: unknown): Promise<Grant> {
    const { claims, session } = await this.verifyLive(token);
    await this.options.limits.chargeSubject(claims.sub);
    if (claims.sid === undefined) throw new AuthError('invalid_token', 'This token belongs to no login session; log in again.');
    let principal: Principal = { method: 'keypair', id: claims.sub };
    if (!isPreAccountToken(claims)) {
      const account = await this.options.store.getAccount(claims.sub);
      if (!account || account.disabled) throw new AuthError('invalid_token');
      principal = { ...accountPrincipal(account, methodOf(claims)), ...(claims.pubkey === undefined ? {} : { pubkey: claims.pubkey }) };
    }
    const scope = narrowScope(claims.scope, principal.roles ?? []);
    // A stored session ends at its expiry; a keypair login's with its first token, so every
    // copy keeps that token's exp exactly (and ending the session covers them all).
    const end = session ? { notAfter: session.expiresAt } : { exp: claims.exp };
    return this.options.provisioner.issue(principal, { scope, sid: claims.sid, ...end, kind: 'reissue', ...(claims.resources === undefined ? {} : { resources: claims.resources }) });
  }

  /**
   * A revocation: its store writes, then this instance forgets its checks at once (whatever of
   * the writes was stored counts here even when a later one failed), the revocation epoch moves
   * (every instance forgets within REVOCATION_CACHE_MS), and once every write is stored the
   * event goes out (the audit log, and Redis, which tells the other instances at once). It is
   * acknowledged only after all of that; a failed write or epoch is the caller's error, and a
   * retry finds the login ended as far as the writes got. (Before, a failed later write left
   * this instance trusting the revoked token until it expired.)
   */
  private async revoking(event: TokenRevokedEvent, writes: () => Promise<void> = async () => {}): Promise<void> {
    let failure: { error: unknown } | undefined;
    try {
      await writes();
    } catch (error) {
      failure = { error };
    }
    this.forgetChecks();
    try {
      await this.options.store.bumpRevocationEpoch();
    } finally {
      if (!failure) emitSafely(this.options.events, 'token.revoked', event, this.options.onEventError);
    }
    if (failure) throw failure.error;
  }
}

export function accountPrincipal(account: AccountRecord, method: AuthMethod): Principal {
  return { method, id: account.id, roles: account.roles };
}

/** How the login a token descends from was made. */
function methodOf(claims: TokenClaims): AuthMethod {
  if (claims.amr?.[0] === 'pwd') return 'password';
  if (claims.amr?.[0] === 'pop') return 'keypair';
  return 'provision';
}

/** A keypair token issued before every principal was an account: its subject is its key, and no account need exist. */
function isPreAccountToken(claims: TokenClaims): boolean {
  return claims.amr?.[0] === 'pop' && claims.pubkey === undefined;
}
