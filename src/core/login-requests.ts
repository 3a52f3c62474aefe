/**
 * Hosted login requests (the Jelpp Wei pattern): an app backend asks for a login request,
 * sends the user's browser to keygate's page, the user logs in there and the page completes
 * the request, the browser comes back to the app's postLoginURL with the request's token,
 * and the app's backend reads who logged in, once. Everything lives in the shared state
 * store with an expiry, and each single-use step is one atomic set-if-absent, so exactly one
 * completion and one first read win, on any instance.
 */
import { randomBytes } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { AccountRecord } from '../store/records.js';
import type { StateStore } from '../store/state.js';
import type { AccountService } from './accounts.js';
import { emitSafely, type CoreEmitter } from './events.js';
import { validateRoles } from './provision.js';

/** Limit: the longest postLoginURL. */
export const POST_LOGIN_URL_MAX = 2048;
/** Limit: bytes of the extra fields a login request keeps (as JSON). */
export const LOGIN_REQUEST_EXTRA_MAX = 4096;
/** The role that passes every requirement. */
export const SUPERUSER_ROLE = 'superuser';
/** Login request tokens: 256 random bits, base64url. */
const TOKEN = /^[\w-]{43}$/;
const PLACEHOLDER = '{token}';

/** The request as the app sent it, handed back with the details. */
export type LoginRequestBody = Record<string, unknown> & { postLoginURL: string; requiredRoles: string[]; requireAllRoles: boolean };

/** A completed request: who logged in (read again as the account is now when the app asks). */
interface Completion {
  request: LoginRequestBody;
  userId: string;
  completedAt: number;
}

/** What the app's backend reads once a user has logged in. */
export interface LoginDetails {
  userId: string;
  username: string | null;
  publicKeys: string[];
  roles: string[];
  superUser: boolean;
  request: LoginRequestBody;
  isDuplicateRequest: boolean;
}

export interface LoginRequestsOptions {
  state: StateStore;
  accounts: AccountService;
  events: CoreEmitter;
  /** LOGIN_REDIRECT_ORIGINS. */
  redirectOrigins: readonly string[];
  /** LOGIN_REQUEST_TTL, ms. */
  ttlMs: number;
  now: () => number;
  onEventError?: (err: unknown) => void;
}

/**
 * Checks a postLoginURL: http(s), no userinfo, `{token}` somewhere after the origin, and an
 * origin on the allow-list. Returns the URL as given (the token is put in at completion).
 */
export function validatePostLoginUrl(value: unknown, allowed: readonly string[]): string {
  const refuse = (problem: string) => new AuthError('invalid_request', `postLoginURL ${problem}`);
  if (typeof value !== 'string' || value.length === 0) throw refuse('is required: the URL users return to, containing {token}.');
  if (value.length > POST_LOGIN_URL_MAX) throw refuse(`must be at most ${POST_LOGIN_URL_MAX} characters.`);
  if (!value.includes(PLACEHOLDER)) throw refuse('must contain {token}, where the login request\'s token goes.');
  // Two different stand-ins must give one origin: {token} cannot reach the scheme, userinfo or host.
  const parsed = [fill(value, 'aaaa'), fill(value, 'bbbb')].map((u) => {
    try {
      return new URL(u);
    } catch {
      throw refuse('is not an absolute URL.');
    }
  });
  const [first, second] = parsed as [URL, URL];
  if (first.protocol !== 'https:' && first.protocol !== 'http:') throw refuse('must be http: or https:.');
  if (first.username !== '' || first.password !== '' || second.username !== '' || second.password !== '') throw refuse('must not contain a user name or password.');
  if (first.origin !== second.origin) throw refuse('may have {token} only after the origin (in the path, query or fragment).');
  if (!allowed.includes(first.origin)) {
    throw refuse(allowed.length === 0
      ? 'cannot be accepted: no origin is allowed (set LOGIN_REDIRECT_ORIGINS).'
      : `origin ${first.origin} is not in LOGIN_REDIRECT_ORIGINS.`);
  }
  return value;
}

const fill = (url: string, token: string) => url.split(PLACEHOLDER).join(encodeURIComponent(token));

/** Whether an account meets a request's role requirement: any (default) or all of them; superuser passes every one. */
export function meetsRoles(roles: readonly string[], required: readonly string[], all: boolean): boolean {
  if (required.length === 0 || roles.includes(SUPERUSER_ROLE)) return true;
  return all ? required.every((r) => roles.includes(r)) : required.some((r) => roles.includes(r));
}

export class LoginRequests {
  constructor(private readonly options: LoginRequestsOptions) {}

  /** Creates a login request; `token` identifies it to the page, the redirect and the app. */
  async create(body: Record<string, unknown>): Promise<{ token: string; pageId: string; expiresAt: number }> {
    const { postLoginURL, requiredRoles, requireAllRoles, ...extra } = body;
    const request: LoginRequestBody = {
      ...extra,
      postLoginURL: validatePostLoginUrl(postLoginURL, this.options.redirectOrigins),
      requiredRoles: requiredRoles === undefined ? [] : validateRoles(requiredRoles),
      requireAllRoles: requireAllRoles === undefined ? false : checkBoolean(requireAllRoles),
    };
    if (Buffer.byteLength(JSON.stringify(extra)) > LOGIN_REQUEST_EXTRA_MAX) {
      throw new AuthError('invalid_request', `The extra fields of a login request are limited to ${LOGIN_REQUEST_EXTRA_MAX} bytes of JSON.`);
    }
    // Two secrets: the token goes to the app's backend only (and back to postLoginURL); the
    // page id goes into loginUrl. Whoever starts a request and forwards its loginUrl to
    // someone else never learns the token that person's login sends back to the app.
    const token = randomBytes(32).toString('base64url');
    const pageId = randomBytes(32).toString('base64url');
    const { state, ttlMs, now } = this.options;
    const expiresAt = now() + ttlMs;
    await state.set(requestKey(token), JSON.stringify({ request, expiresAt }), ttlMs);
    await state.set(pageKey(pageId), token, ttlMs);
    emitSafely(this.options.events, 'login_request', { stage: 'created' }, this.options.onEventError);
    return { token, pageId, expiresAt };
  }

  /** The token of the request a page id belongs to; not_found when there is none. */
  private async tokenOfPage(pageId: unknown): Promise<string> {
    const token = typeof pageId === 'string' && TOKEN.test(pageId) ? await this.options.state.get(pageKey(pageId)) : undefined;
    if (token === undefined) throw new AuthError('not_found', 'No such login request: it has expired or never existed.');
    return token;
  }

  /** What the page shows before the user logs in: where the user will be sent back to. */
  async describe(pageId: unknown): Promise<{ origin: string; requiredRoles: string[]; requireAllRoles: boolean; expiresAt: number }> {
    const { request, expiresAt } = await this.pending(await this.tokenOfPage(pageId));
    return { origin: new URL(fill(request.postLoginURL, 'x')).origin, requiredRoles: request.requiredRoles, requireAllRoles: request.requireAllRoles, expiresAt };
  }

  /**
   * The page (by the page id of loginUrl), with the user's access token: checks the required
   * roles and completes the request once. Returns where to send the browser: postLoginURL
   * with the request's token.
   */
  async complete(pageId: unknown, accessToken: unknown): Promise<{ redirect: string }> {
    const token = await this.tokenOfPage(pageId);
    const { request, expiresAt } = await this.pending(token);
    // Only a login made for this request: not any token of the user's someone may have seen.
    const account: AccountRecord = await this.options.accounts.ofToken(accessToken, { login: true, loggedInSince: expiresAt - this.options.ttlMs });
    if (!meetsRoles(account.roles, request.requiredRoles, request.requireAllRoles)) {
      throw new AuthError('roles_missing', `This app requires ${request.requireAllRoles ? 'all' : 'one'} of the roles: ${request.requiredRoles.join(', ')}.`);
    }
    const { state, ttlMs, now } = this.options;
    const completion: Completion = { request, userId: account.id, completedAt: now() };
    // The details stay readable for LOGIN_REQUEST_TTL after completion.
    if (!(await state.add(doneKey(token), JSON.stringify(completion), ttlMs))) throw new AuthError('already_completed');
    emitSafely(this.options.events, 'login_request', { stage: 'completed', userId: account.id }, this.options.onEventError);
    return { redirect: fill(request.postLoginURL, token) };
  }

  /**
   * The app's backend: who logged in. The first read answers isDuplicateRequest: false; any
   * later one is already_read, or (allowDuplicateRequest) the details with isDuplicateRequest: true.
   */
  async details(token: unknown, allowDuplicateRequest: boolean): Promise<LoginDetails> {
    if (typeof token !== 'string' || !TOKEN.test(token)) throw new AuthError('not_found', 'No such login request.');
    const { state, ttlMs } = this.options;
    const done = await state.get(doneKey(token));
    if (done === undefined) {
      await this.pending(token); // not_found when it does not exist or has expired
      throw new AuthError('login_pending');
    }
    const completion = JSON.parse(done) as Completion;
    // The store's own expiry may run on another clock (Redis): the injected one decides.
    if (completion.completedAt + ttlMs <= this.options.now()) throw new AuthError('not_found', 'No such login request: it has expired or never existed.');
    const { request, userId } = completion;
    const account = await this.current(userId, request);
    // The mark outlives the completion (a read needs both): an expiry counted from completedAt
    // would mix two instances' clocks, and a mark gone early would make a second first read.
    const first = await state.add(readKey(token), '1', ttlMs);
    if (!first && !allowDuplicateRequest) throw new AuthError('already_read', 'The details of this login were read already; ask with allowDuplicateRequest=true to read them again.');
    if (first) emitSafely(this.options.events, 'login_request', { stage: 'redeemed', userId }, this.options.onEventError);
    const { username, publicKeys, roles } = account;
    return { userId, username, publicKeys, roles, superUser: roles.includes(SUPERUSER_ROLE), request, isDuplicateRequest: !first };
  }

  /**
   * The account that completed a login, as it is now: one deleted, disabled or no longer holding
   * the request's roles since then is refused (its details unread), so an app never signs in
   * someone keygate would refuse now, nor with roles the account has lost.
   */
  private async current(userId: string, request: LoginRequestBody): Promise<AccountRecord> {
    const account = await this.options.accounts.find(userId, { usernames: false });
    if (!account || account.id !== userId) throw new AuthError('not_found', 'The account that logged in no longer exists.');
    if (account.disabled) throw new AuthError('account_disabled', 'The account that logged in has been disabled since.');
    if (!meetsRoles(account.roles, request.requiredRoles, request.requireAllRoles)) {
      throw new AuthError('roles_missing', 'The account that logged in no longer has the roles this app requires.');
    }
    return account;
  }

  /** A request that exists and has not expired; not_found otherwise. */
  private async pending(token: unknown): Promise<{ request: LoginRequestBody; expiresAt: number }> {
    if (typeof token !== 'string' || !TOKEN.test(token)) throw new AuthError('not_found', 'No such login request.');
    const stored = await this.options.state.get(requestKey(token));
    const parsed = stored === undefined ? undefined : JSON.parse(stored) as { request: LoginRequestBody; expiresAt: number };
    if (!parsed || parsed.expiresAt <= this.options.now()) throw new AuthError('not_found', 'No such login request: it has expired or never existed.');
    return parsed;
  }
}

function checkBoolean(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new AuthError('invalid_request', 'requireAllRoles must be true or false.');
  return value;
}

const requestKey = (token: string) => `login-request:${token}`;
const pageKey = (pageId: string) => `login-request-page:${pageId}`;
const doneKey = (token: string) => `login-request-done:${token}`;
const readKey = (token: string) => `login-request-read:${token}`;
