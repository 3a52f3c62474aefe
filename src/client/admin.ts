/**
 * keygate's server-side client for app backends: accounts, provisioning, introspection and
 * revocation, authenticated with the API pair (HTTP Basic). Node 20+ (global fetch). Never
 * ship it to a browser: it holds USER_API_SECRET.
 *
 * @example
 * ```ts
 * import { KeygateAdmin, KeygateError } from 'keygate/admin';
 *
 * const keygate = new KeygateAdmin({ url: 'https://auth.example.com', apiKey: process.env.USER_API_KEY!, apiSecret: process.env.USER_API_SECRET! });
 * await keygate.ensureAccount({ id: 'user-0001' });          // get-or-create, mitter style
 * const { token } = await keygate.provision({ user: 'user-0001', resources: [{ object: 'room', reference: 'lobby', permission: 'join' }] });
 * ```
 * @packageDocumentation
 */

/** The Hub's UserAuth: what `Client.withUserAuth` consumes. */
export interface UserAuth {
  key: string;
  sig: string;
  msg: string;
  token: string;
}

/** An account as keygate shows it. */
export interface Account {
  id: string;
  username: string | null;
  /** Linked Ed25519 identity strings. */
  publicKeys: string[];
  roles: string[];
  disabled: boolean;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601, to the minute; null before the first login. */
  lastLoginAt: string | null;
}

/** What {@link KeygateAdmin.createAccount} makes. All fields are optional: an empty account gets a UUID. */
export interface NewAccount {
  /** Your own id for the user (1-128 of letters, digits and . _ ~ : @ + = | -). */
  id?: string;
  username?: string;
  /** Needs a username. */
  password?: string;
  roles?: string[];
}

/** A resource a provisioned token grants. */
export interface Resource {
  object: string;
  reference: string;
  permission?: string;
}

export interface ProvisionRequest {
  /** Your own id of the user; an account is created for it if there is none. */
  user: string;
  resources?: Resource[];
  /** Seconds; may only shorten PROVISION_TTL (default 6 hours). */
  ttl?: number;
}

export interface Provisioned {
  user: string;
  resources: Resource[];
  /** The JWT (also in userAuth.token). */
  token: string;
  userAuth: UserAuth;
  /** ISO 8601. */
  expiresAt: string;
}

/** RFC 7662: what introspection says of a token. */
export type Introspection =
  | { active: false }
  | { active: true; token_type: 'Bearer'; iss: string; sub: string; iat: number; exp: number; jti: string; sid?: string; scope?: string; amr?: string[]; pubkey?: string; resources?: Resource[] };

/** What {@link KeygateAdmin.requestLogin} asks for; any other field is kept and handed back with the details. */
export interface LoginRequestOptions {
  /** Where the user's browser returns after the login; must contain `{token}` and be on an origin of LOGIN_REDIRECT_ORIGINS. */
  postLoginURL: string;
  /** Roles the user must hold: any of them, or all with requireAllRoles. A user with the role `superuser` passes every requirement. */
  requiredRoles?: string[];
  requireAllRoles?: boolean;
  [extra: string]: unknown;
}

export interface LoginRequest {
  /** Send the user's browser here: keygate's page, which logs the user in and returns them to postLoginURL. It carries a page id, not the token. */
  loginUrl: string;
  /** The request's token: keep it server-side (in the session that started the login); the same one comes back in postLoginURL. */
  token: string;
  /** ISO 8601: the user must log in before this. */
  expiresAt: string;
}

/** Who logged in through a login request. */
export interface LoginDetails {
  userId: string;
  username: string | null;
  publicKeys: string[];
  roles: string[];
  /** True for a user with the role `superuser`: give access regardless of roles. */
  superUser: boolean;
  /** The login request as you sent it. */
  request: LoginRequestOptions & { requiredRoles: string[]; requireAllRoles: boolean };
  /** False for the first read; true for a later one with allowDuplicateRequest. */
  isDuplicateRequest: boolean;
}

export interface AccountPage {
  accounts: Account[];
  total: number;
  offset: number;
  limit: number;
}

/** A refusal by keygate: the HTTP status, the stable error code and message, and any details (such as `id`). */
export class KeygateError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'KeygateError';
  }
}

export interface KeygateAdminOptions {
  /** keygate's base URL, e.g. https://auth.example.com */
  url: string;
  /** USER_API_KEY */
  apiKey: string;
  /** USER_API_SECRET */
  apiSecret: string;
  /** Give up on a request after this many milliseconds. Default 10000. */
  timeoutMs?: number;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

export class KeygateAdmin {
  private readonly base: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: KeygateAdminOptions) {
    let base = options.url;
    while (base.endsWith('/')) base = base.slice(0, -1);
    this.base = base;
    this.authorization = `Basic ${Buffer.from(`${options.apiKey}:${options.apiSecret}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetch = options.fetch ?? fetch;
  }

  /** Creates an account. An id or username that exists: KeygateError 409 `duplicate_entity` with `details.id`. */
  async createAccount(account: NewAccount = {}): Promise<{ id: string }> {
    return this.call('POST', '/api/accounts', account);
  }

  /** Get-or-create: the id of the new account, or of the one that had this id or username already. */
  async ensureAccount(account: NewAccount): Promise<{ id: string; created: boolean }> {
    try {
      return { ...(await this.createAccount(account)), created: true };
    } catch (err) {
      if (err instanceof KeygateError && err.code === 'duplicate_entity' && err.details.id !== undefined) return { id: err.details.id, created: false };
      throw err;
    }
  }

  /** The account with this id, public key string or username; undefined when there is none. */
  async getAccount(ref: string): Promise<Account | undefined> {
    try {
      return await this.call<Account>('GET', `/api/accounts/${encodeURIComponent(ref)}`);
    } catch (err) {
      if (err instanceof KeygateError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Sets roles and/or the disabled flag. Disabling revokes every token and session of the account at once. */
  async updateAccount(ref: string, changes: { roles?: string[]; disabled?: boolean }): Promise<Account> {
    return this.call('PATCH', `/api/accounts/${encodeURIComponent(ref)}`, changes);
  }

  /** Deletes an account and revokes every token and session of it. */
  async deleteAccount(ref: string): Promise<void> {
    await this.call('DELETE', `/api/accounts/${encodeURIComponent(ref)}`);
  }

  /** One page of accounts, ordered by id; `query` keeps those whose id, username or a key starts with it. */
  async listAccounts(options: { offset?: number; limit?: number; query?: string } = {}): Promise<AccountPage> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(options)) if (v !== undefined) params.set(k, String(v));
    const qs = params.size > 0 ? `?${params.toString()}` : '';
    return this.call('GET', `/api/accounts${qs}`);
  }

  /** A short-lived token for one of your users, carrying exactly these resources (Room Service style). */
  async provision(request: ProvisionRequest): Promise<Provisioned> {
    return this.call('POST', '/api/provision', request);
  }

  /** Creates a hosted login request (the Jelpp Wei client's requestLogin): send the browser to `loginUrl`. */
  async requestLogin(options: LoginRequestOptions): Promise<LoginRequest> {
    return this.call('POST', '/api/login-requests', options);
  }

  /**
   * Who logged in for a login request, by the token your postLoginURL received. Readable once:
   * a second read is KeygateError 410 `already_read` unless `allowDuplicateRequest`; before the
   * user has logged in, 409 `login_pending`; unknown or expired, 404. The details are of the
   * account as it is now: one that has lost the required roles or been disabled since is 403
   * (`roles_missing`, `account_disabled`), one deleted 404, and such a read does not count.
   */
  async getLoginDetails(token: string, options: { allowDuplicateRequest?: boolean } = {}): Promise<LoginDetails> {
    const qs = options.allowDuplicateRequest ? '?allowDuplicateRequest=true' : '';
    return this.call('GET', `/api/login-requests/${encodeURIComponent(token)}${qs}`);
  }

  /** RFC 7662 introspection of an access token. */
  async introspect(token: string): Promise<Introspection> {
    return this.call('POST', '/api/introspect', { token });
  }

  /** RFC 7009: ends the login of an access or refresh token (unknown tokens are ignored). */
  async revoke(token: string): Promise<void> {
    await this.call('POST', '/api/revoke', { token });
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: this.authorization, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new KeygateError(res.status, 'invalid_response', `keygate answered ${res.status} with a body that is not JSON.`);
    }
    if (!res.ok) {
      const { error, message, ...details } = (parsed ?? {}) as Record<string, string>;
      throw new KeygateError(res.status, error ?? 'http_error', message ?? `HTTP ${res.status}`, details);
    }
    return parsed as T;
  }
}
