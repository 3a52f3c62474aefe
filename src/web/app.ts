/**
 * The demo page: a keypair login over /ws/userauth and password logins over the HTTP API;
 * after a login, the account (GET /api/me), to which a password user can link this browser's key.
 *
 * In login-request mode (`/?loginRequest=<token>`, the loginUrl an app's backend got from
 * POST /api/login-requests), a banner names the app's origin the user returns to, and any login
 * completes the request (POST /api/login-requests/<token>/complete) and sends the browser there.
 */
import { login, LoginError, WebCryptoIdentity, type UserAuth } from '../client/index.js';

const IDENTITY_KEY = 'keygate.identity';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

interface Session {
  method: 'keypair' | 'password';
  userAuth: UserAuth;
  refreshToken?: string;
}

/** The account as GET /api/me and the key routes show it. */
interface Account {
  id: string;
  username: string | null;
  publicKeys: string[];
  roles: string[];
  disabled: boolean;
  createdAt: string | null;
  lastLoginAt: string | null;
}

/** An error answer of the API: its HTTP status, its code (`error`) and its message. */
class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly code: string | undefined) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What GET /api/login-requests/<token>/info tells the page before the login. */
interface LoginRequestInfo {
  origin: string;
  requiredRoles: string[];
  requireAllRoles: boolean;
  expiresAt: string;
}

/** The login request this page was opened for, if any. */
interface LoginRequestState {
  token: string;
  info?: LoginRequestInfo;
  /** Expired, unknown or completed already: a login no longer completes it. */
  gone: boolean;
}

const LOGIN_REQUEST_GONE = 'This login request has expired or is unknown. Go back to the app and start again.';
const LOGIN_REQUEST_DONE = 'This login request was completed already. Go back to the app and start again.';

const KEY_LINKED_ELSEWHERE = 'This browser\'s key already belongs to another account (it logged in on its own, or was linked there). '
  + 'Unlink it there first, or make a new identity.';

let identity: WebCryptoIdentity | undefined;
let session: Session | undefined;
let account: Account | undefined;
let ticker: number | undefined;
let loginRequest: LoginRequestState | undefined;

function showError(message: string): void {
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
}

function clearError(): void {
  $('error').hidden = true;
  $('error').textContent = '';
}

function setStatus(text: string, ok = false): void {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('ok', ok);
}

/** The JWT's claims, decoded for display (the server already verified them). */
function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
}

function formatRemaining(ms: number): string {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h > 0 ? `${h} h ` : ''}${m} min ${String(s % 60).padStart(2, '0')} s`;
}

function render(): void {
  window.clearInterval(ticker);
  renderAccount();
  const logged = session !== undefined;
  $('session').hidden = !logged;
  $('claims-box').hidden = !logged;
  $('logout').hidden = !logged;
  if (!session) return;
  const claims = claimsOf(session.userAuth.token ?? '');
  const expires = new Date(session.userAuth.msg);
  $('subject').textContent = String(claims.sub);
  $('method').textContent = session.method === 'keypair' ? 'key pair (challenge signed in this browser)' : 'password';
  $('expires').textContent = `(${expires.toLocaleString()})`;
  $('claims').textContent = JSON.stringify(claims, null, 2);
  const tick = () => ($('countdown').textContent = formatRemaining(expires.getTime() - Date.now()));
  tick();
  ticker = window.setInterval(tick, 1000);
}

/** One linked key of the account; this browser's own is marked. */
function keyItem(pubkey: string, mine: boolean): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.pubkey = pubkey;
  const code = document.createElement('code');
  code.className = 'key';
  code.textContent = pubkey;
  item.append(code);
  if (mine) {
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = 'this browser';
    item.classList.add('this-browser');
    item.append(tag);
  }
  return item;
}

function renderAccount(): void {
  $('account').hidden = !session || !account;
  if (!session || !account) return;
  const mine = identity?.public.toString();
  $('account-id').textContent = account.id;
  $('account-username-row').hidden = account.username === null;
  $('account-username').textContent = account.username ?? '';
  $('account-roles').textContent = account.roles.length > 0 ? account.roles.join(', ') : 'none';
  const keys = account.publicKeys.map((pubkey) => keyItem(pubkey, pubkey === mine));
  if (keys.length === 0) {
    const none = document.createElement('li');
    none.className = 'muted';
    none.textContent = 'No key linked yet.';
    keys.push(none);
  }
  $('account-keys').replaceChildren(...keys);
  $('link-key').hidden = session.method !== 'password' || mine === undefined || account.publicKeys.includes(mine);
}

/** Fetches the logged-in account; a token from before accounts (404) simply has none to show. */
async function loadAccount(): Promise<void> {
  const current = session;
  if (!current) return;
  let answer: Account;
  try {
    answer = (await api<Account>('/api/me', { method: 'GET', token: current.userAuth.token })).body;
  } catch (err) {
    if (session !== current || (err instanceof ApiError && err.status === 404)) return;
    throw err;
  }
  if (session !== current) return; // logged out or in again meanwhile
  account = answer;
  renderAccount();
}

async function signedIn(next: Session, what: string): Promise<void> {
  session = next;
  account = undefined;
  clearError();
  setStatus(what, true);
  render();
  if (await completeLoginRequest(next)) return; // on the way back to the app
  await loadAccount();
}

/** The login request's token from the page's URL (`?loginRequest=`), if any. */
function loginRequestToken(): string | undefined {
  return new URLSearchParams(location.search).get('loginRequest') ?? undefined;
}

const loginRequestPath = (token: string, action: string) => `/api/login-requests/${encodeURIComponent(token)}/${action}`;

function renderLoginRequest(note: string): void {
  if (!loginRequest) return;
  const { info, gone } = loginRequest;
  $('login-request').hidden = false;
  $('login-request').classList.toggle('gone', gone);
  $('login-request-title').hidden = info === undefined;
  $('login-request-origin').textContent = info?.origin ?? '';
  $('login-request-roles-row').hidden = !info || info.requiredRoles.length === 0;
  $('login-request-roles-rule').textContent = info?.requireAllRoles ? 'all' : 'one';
  $('login-request-roles').textContent = info?.requiredRoles.join(', ') ?? '';
  $('login-request-note').textContent = note;
}

function loginRequestGone(message: string): void {
  if (!loginRequest) return;
  loginRequest.gone = true;
  renderLoginRequest(message);
  showError(message);
}

/** Login-request mode: shows where the login continues to, or that the request is gone. */
async function loadLoginRequest(): Promise<void> {
  const token = loginRequestToken();
  if (token === undefined) return;
  loginRequest = { token, gone: false };
  if (!/^[\w-]{1,256}$/.test(token)) {
    loginRequestGone(LOGIN_REQUEST_GONE);
    return;
  }
  try {
    const { body } = await api<LoginRequestInfo>(loginRequestPath(token, 'info'), { method: 'GET' });
    loginRequest.info = body;
    if (!loginRequest.gone) renderLoginRequest('After you log in, you go straight back there.');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) loginRequestGone(LOGIN_REQUEST_GONE);
    else showError(`Cannot load the login request: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * After a login in login-request mode: completes the request with the new access token and
 * sends the browser back to the app. True when on the way there; false (the reason shown)
 * when the request does not take this login, so the user may log in with another account.
 */
async function completeLoginRequest(current: Session): Promise<boolean> {
  const request = loginRequest;
  if (!request || request.gone) return false;
  // Never complete a request whose destination the user has not been shown.
  if (!request.info) {
    showError('The login request is not loaded yet (where it returns you to is unknown); reload the page and log in again.');
    return false;
  }
  let redirect: string;
  try {
    const answer = await api<{ redirect: string }>(loginRequestPath(request.token, 'complete'), { token: current.userAuth.token });
    redirect = answer.body.redirect;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) loginRequestGone(LOGIN_REQUEST_GONE);
    else if (err instanceof ApiError && err.code === 'already_completed') loginRequestGone(LOGIN_REQUEST_DONE);
    else if (err instanceof ApiError && err.code === 'roles_missing') showError(`${err.message} Log in with another account to continue.`);
    else showError(`Cannot complete the login request: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
  const target = new URL(redirect, location.href);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    showError('The login request gave an address that is not http(s); not going there.');
    return false;
  }
  request.gone = true; // completed: no other login may complete it again
  const where = request.info?.origin ?? target.origin;
  renderLoginRequest(`Returning you to ${where}…`);
  setStatus(`Logged in. Returning you to ${where}…`, true);
  location.assign(target.href);
  return true;
}

/**
 * Links this browser's key to the password user's account: the key signs the server's
 * challenge (proof of possession), and the answer is the account with the key.
 */
async function linkBrowserKey(): Promise<void> {
  const current = session;
  const key = identity;
  if (!current) throw new Error('Log in first.');
  if (!key) throw new Error('No identity yet.');
  const pubkey = key.public.toString();
  const token = current.userAuth.token;
  try {
    const { body: challenge } = await api<{ value: { data: number[] } }>('/api/me/keys/challenge', { body: { pubkey }, token });
    const sig = await key.sign(Uint8Array.from(challenge.value.data));
    const { body } = await api<Account>('/api/me/keys', { body: { pubkey, sig: { type: 'Buffer', data: Array.from(sig) } }, token });
    if (session === current) account = body;
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'key_linked')) throw err;
    await loadAccount(); // linked here already (say, from another tab), or to another account?
    if (!account?.publicKeys.includes(pubkey)) throw new Error(KEY_LINKED_ELSEWHERE, { cause: err });
  }
  renderAccount();
  setStatus('Linked this browser\'s key: its key pair logins now get this account.', true);
}

/** Runs an action with its button disabled; failures become readable messages. */
async function act(button: HTMLButtonElement, action: () => Promise<void>): Promise<void> {
  button.disabled = true;
  clearError();
  try {
    await action();
  } catch (err) {
    showError(err instanceof Error ? err.message : String(err));
  } finally {
    button.disabled = false;
  }
}

/** A call of keygate's JSON API; callers know the shape of the route's answer (T). */
async function api<T = unknown>(
  path: string,
  init: { method?: 'GET' | 'POST' | 'DELETE'; body?: unknown; token?: string } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let res: Response;
  try {
    res = await fetch(path, { method: init.method ?? 'POST', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  } catch {
    throw new Error(`Cannot reach the server at ${location.origin}: it may be down.`);
  }
  const text = await res.text();
  const body: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const answer = body as { error?: string; message?: string } | undefined;
    throw new ApiError(answer?.message ?? `The server answered ${res.status}.`, res.status, answer?.error);
  }
  return { status: res.status, body: body as T };
}

async function loadIdentity(fresh = false): Promise<void> {
  const saved = fresh ? null : localStorage.getItem(IDENTITY_KEY);
  try {
    identity = saved ? await WebCryptoIdentity.fromString(saved) : await WebCryptoIdentity.generate();
  } catch {
    identity = await WebCryptoIdentity.generate(); // a corrupt saved key is replaced
  }
  localStorage.setItem(IDENTITY_KEY, identity.toString());
  $('pubkey').textContent = identity.public.toString();
}

function credentials(): { username: string; password: string } {
  const username = $<HTMLInputElement>('username').value.trim();
  const password = $<HTMLInputElement>('password').value;
  if (!username || !password) throw new Error('Enter a username and a password.');
  return { username, password };
}

function wire(): void {
  const kpLogin = $<HTMLButtonElement>('kp-login');
  const kpNew = $<HTMLButtonElement>('kp-new');
  kpLogin.addEventListener('click', () => act(kpLogin, async () => {
    if (!identity) throw new Error('No identity yet.');
    let userAuth: UserAuth;
    try {
      userAuth = await login(identity, location.origin, { timeoutMs: 10_000 });
    } catch (err) {
      if (err instanceof LoginError && err.kind === 'connection') throw new Error(`Cannot reach the server at ${location.origin}: it may be down.`, { cause: err });
      throw err;
    }
    await signedIn({ method: 'keypair', userAuth }, 'Logged in with your key pair.');
  }));
  kpNew.addEventListener('click', () => act(kpNew, async () => {
    await loadIdentity(true);
    renderAccount(); // which key is this browser's has changed
  }));

  $('pw-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void act($<HTMLButtonElement>('pw-login'), async () => {
      const { body } = await api<{ userAuth: UserAuth; refreshToken: string }>('/api/login', { body: credentials() });
      await signedIn({ method: 'password', userAuth: body.userAuth, refreshToken: body.refreshToken }, 'Logged in with your password.');
    });
  });
  const register = $<HTMLButtonElement>('pw-register');
  register.addEventListener('click', () => act(register, async () => {
    const { username, password } = credentials();
    await api('/api/users', { body: { username, password } });
    setStatus(`Registered ${username}. Now log in.`, true);
  }));

  const linkKey = $<HTMLButtonElement>('link-key');
  linkKey.addEventListener('click', () => act(linkKey, linkBrowserKey));

  const logout = $<HTMLButtonElement>('logout');
  logout.addEventListener('click', () => act(logout, async () => {
    if (!session) return;
    await api('/api/logout', { token: session.userAuth.token });
    session = undefined;
    account = undefined;
    setStatus('Logged out. The token no longer works.');
    render();
  }));
}

async function main(): Promise<void> {
  wire();
  void loadLoginRequest();
  if (!globalThis.crypto?.subtle) {
    showError('This browser has no WebCrypto (the page needs a secure context: https or localhost).');
    return;
  }
  try {
    await loadIdentity();
    $<HTMLButtonElement>('kp-login').disabled = false;
    $<HTMLButtonElement>('kp-new').disabled = false;
  } catch {
    showError('This browser cannot make Ed25519 keys (WebCrypto Ed25519 is missing); password login still works.');
  }
}

void main();
