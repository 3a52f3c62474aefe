/**
 * The core of keygate, assembled: stores, signing keys, provisioner, users, tokens,
 * limits and events. Nothing here knows about Koa, HTTP or sockets.
 */
import { hkdfSync } from 'node:crypto';
import type { Config } from '../config.js';
import { apiPairMatcher } from './api-sig.js';
import type { RecordStore } from '../store/records.js';
import type { StateStore } from '../store/state.js';
import { KeySealer } from './key-seal.js';
import { AuthError, StoreError, asAuthError } from '../errors.js';
import type { AccountRecord } from '../store/records.js';
import { createEmitter, emitSafely, type CoreEmitter } from './events.js';
import { AccountService } from './accounts.js';
import { AuditLog } from './audit.js';
import { HttpChallenges } from './http-challenges.js';
import { LoginRequests } from './login-requests.js';
import { KeypairLogin } from './keypair-login.js';
import { Limits } from './limits.js';
import { PasswordHasher } from './passwords.js';
import { Provisioner } from './provision.js';
import { ResourceProvisioning } from './resources.js';
import { KeyRing } from './signing-keys.js';
import { TokenService, type SessionGrant } from './tokens.js';
import { UserService } from './users.js';

/** HKDF label of the key that derives refresh-token successors from the API secret. */
const REFRESH_SUCCESSOR_INFO = 'keygate refresh-token successor v1';
/** The channel on which a rotation tells every instance to reload its signing keys. */
export const KEYS_CHANNEL = 'keys';
/** The channel on which a revocation tells every instance to forget its checks of live tokens. */
export const REVOCATIONS_CHANNEL = 'revocations';

export interface CoreOptions {
  config: Config;
  /** Durable records. */
  store: RecordStore;
  /** Short-lived shared state. */
  state: StateStore;
  apiKey: string;
  apiSecret: Uint8Array;
  /** SIGNING_KEY_SECRET: seals the signing keys at rest. */
  signingKeySecret: string;
  now?: () => number;
  /** Called with failures that must not fail a request (event listeners, rehashing). */
  onBackgroundError?: (err: unknown) => void;
}

export class Core {
  readonly events: CoreEmitter = createEmitter();
  readonly store: RecordStore;
  readonly state: StateStore;
  readonly keys: KeyRing;
  readonly provisioner: Provisioner;
  readonly limits: Limits;
  readonly hasher: PasswordHasher;
  readonly users: UserService;
  readonly accounts: AccountService;
  readonly tokens: TokenService;
  /** Hosted login requests with single-use results (POST /api/login-requests). */
  readonly loginRequests: LoginRequests;
  /** The audit log: every security event, appended to the record store in batches. */
  readonly audit: AuditLog;
  /** The keypair login over plain HTTP (POST /api/challenges). */
  readonly challenges: HttpChallenges;
  /** POST /api/provision: tokens for an app's own users, with resources. */
  readonly resources: ResourceProvisioning;
  /** The clock every part of the core reads (ms since the epoch). */
  readonly now: () => number;
  private readonly apiPair: (key: string, secret: string) => boolean;

  private constructor(private readonly options: CoreOptions) {
    const { config, store, state, onBackgroundError: onEventError } = options;
    const now = options.now ?? (() => Date.now());
    this.now = now;
    this.apiPair = apiPairMatcher(options.apiKey, options.apiSecret);
    this.store = store;
    this.state = state;
    // A retired key stays published for as long as any token it signed can live, counting the
    // KEY_RELOAD_MS during which an instance that has not reloaded may still sign with it.
    this.keys = new KeyRing(store, new KeySealer(options.signingKeySecret), Math.max(config.tokenTtl, config.provisionTtl) * 1000 + config.keyReloadMs, now);
    this.provisioner = new Provisioner({
      keys: this.keys, events: this.events, apiKey: options.apiKey, apiSecret: options.apiSecret,
      issuer: config.issuer, tokenTtl: config.tokenTtl, now, onEventError,
    });
    this.limits = new Limits(state, {
      addressLimits: config.rateLimits === 'on',
      addressPoints: config.rateLimitPoints,
      addressWindowS: config.rateLimitWindowS,
      failedCost: config.rateLimitFailedCost,
      lockoutAttempts: config.lockoutAttempts,
      lockoutWindowS: config.lockoutWindowS,
      reissuePoints: config.reissueLimitPoints,
    });
    this.hasher = new PasswordHasher(
      { memoryCost: config.argon2MemoryKib, timeCost: config.argon2TimeCost, parallelism: 1 },
      { concurrency: config.hashConcurrency, maxQueue: config.hashQueueMax, maxWaitMs: config.hashQueueTimeoutMs },
    );
    this.tokens = new TokenService({
      store, keys: this.keys, provisioner: this.provisioner, events: this.events, limits: this.limits,
      issuer: config.issuer, tokenTtl: config.tokenTtl, refreshTtl: config.refreshTtl,
      refreshReuseIntervalMs: config.refreshReuseIntervalMs,
      revocationCacheMs: config.revocationCacheMs,
      refreshSecret: new Uint8Array(hkdfSync('sha256', options.apiSecret, new Uint8Array(0), REFRESH_SUCCESSOR_INFO, 32)),
      now, onEventError,
    });
    this.accounts = new AccountService({
      store, state, hasher: this.hasher, tokens: this.tokens, events: this.events, challengeTtlMs: config.challengeTtlMs, now, onEventError,
    });
    this.users = new UserService({ store, accounts: this.accounts, hasher: this.hasher, limits: this.limits, events: this.events, now, onEventError, onRehashError: onEventError });
    this.resources = new ResourceProvisioning(this.accounts, this.provisioner, config.provisionTtl, now);
    this.audit = new AuditLog({
      store, events: this.events, now, onError: onEventError,
      onDrop: () => onEventError?.(new Error('audit queue full: an audit event was dropped')),
    });
    this.loginRequests = new LoginRequests({
      state, accounts: this.accounts, events: this.events, redirectOrigins: config.loginRedirectOrigins, ttlMs: config.loginRequestTtl * 1000, now, onEventError,
    });
    this.challenges = new HttpChallenges({
      state, accounts: this.accounts, provisioner: this.provisioner, limits: this.limits, events: this.events,
      challengeTtlMs: config.challengeTtlMs, now, onEventError,
    });
  }

  /** Builds the core, loads (or makes) the signing keys and follows rotations made by any instance. */
  static async open(options: CoreOptions): Promise<Core> {
    const core = new Core(options);
    await core.keys.open();
    const reload = () => core.keys.reload().catch((err: unknown) => options.onBackgroundError?.(err));
    const forget = () => core.tokens.forgetChecks();
    const subscriptions = [
      await options.state.subscribe(KEYS_CHANNEL, reload, reload),
      await options.state.subscribe(REVOCATIONS_CHANNEL, forget, forget),
    ];
    core.unsubscribe = async () => {
      await Promise.all(subscriptions.map((off) => off()));
    };
    // Revocations and account changes: every instance forgets its remembered checks at once.
    const announce = () => options.state.publish(REVOCATIONS_CHANNEL, '').catch((err: unknown) => options.onBackgroundError?.(err));
    core.events.on('token.revoked', announce);
    // A new account stales nothing remembered (a key without an account is never remembered).
    core.events.on('account.changed', (e) => (e.change === 'created' ? undefined : announce()));
    await core.hasher.warm();
    return core;
  }

  private unsubscribe: (() => Promise<void>) | undefined;

  /**
   * Makes a new signing key (the old one keeps verifying until its tokens have expired) and
   * tells every instance to sign with it. Returns the new kid.
   */
  async rotateSigningKey(): Promise<string> {
    const kid = await this.keys.rotate();
    emitSafely(this.events, 'keys.rotated', { kid }, this.options.onBackgroundError);
    // Instances that miss the message still follow within KEY_RELOAD_MS.
    await this.state.publish(KEYS_CHANNEL, kid).catch((err: unknown) => this.options.onBackgroundError?.(err));
    return kid;
  }

  /**
   * A password login: checks the password (bounded, rate-limited, locked out after
   * failures), starts a session with its first refresh token, records the login.
   */
  async passwordLogin(username: unknown, password: unknown, scope: unknown, address?: string): Promise<{ account: AccountRecord; session: SessionGrant }> {
    if (scope !== undefined && typeof scope !== 'string') throw new AuthError('invalid_request', 'scope must be a string.');
    const account = await this.users.login(username, password, address);
    const session = await this.tokens.startSession(account, scope);
    this.accounts.recordLogin(account);
    return { account, session };
  }

  /** Whether a key and secret (e.g. from HTTP Basic) are this server's API pair; constant time. */
  isApiPair(key: string, secret: string): boolean {
    return this.apiPair(key, secret);
  }

  /**
   * Admits a keypair login attempt from an address before any connection is kept: charges
   * the address; a refusal is recorded as a refused login and thrown.
   */
  async admitKeypairLogin(address: string): Promise<void> {
    try {
      await this.limits.chargeAddress(address);
    } catch (err) {
      const error = asAuthError(err);
      emitSafely(this.events, 'login.refused', { method: 'keypair', door: 'websocket', code: error.code, reason: error.message, address }, this.options.onBackgroundError);
      throw error;
    }
  }

  /** A new keypair login for one connection. */
  keypairLogin(address?: string): KeypairLogin {
    const { config, onBackgroundError } = this.options;
    return new KeypairLogin({
      provisioner: this.provisioner, accounts: this.accounts, events: this.events, challengeTtlMs: config.challengeTtlMs, address, now: this.now, onEventError: onBackgroundError,
    });
  }

  async close(): Promise<void> {
    // What is queued for the audit log, and the last-login stamps, are written before the stores
    // close. Their writers report a failed batch themselves, but for a store that is away: here
    // that one is reported too, since what it kept queued is lost now.
    const away = (err: unknown) => {
      if (err instanceof StoreError && err.code === 'unavailable') this.options.onBackgroundError?.(err);
    };
    await this.audit.close().catch(away);
    await this.accounts.close().catch(away);
    this.events.clearListeners();
    await this.unsubscribe?.().catch(() => undefined);
    await Promise.all([this.store.close(), this.state.close()]);
  }
}
