/** The demo page: a keypair login over /ws/userauth and password logins over the HTTP API. */
import { login, LoginError, WebCryptoIdentity, type UserAuth } from '../client/index.js';

const IDENTITY_KEY = 'keygate.identity';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

interface Session {
  method: 'keypair' | 'password';
  userAuth: UserAuth;
  refreshToken?: string;
}

let identity: WebCryptoIdentity | undefined;
let session: Session | undefined;
let ticker: number | undefined;

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

function signedIn(next: Session, what: string): void {
  session = next;
  clearError();
  setStatus(what, true);
  render();
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
async function api<T = unknown>(path: string, init: { body?: unknown; token?: string } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  } catch {
    throw new Error(`Cannot reach the server at ${location.origin}: it may be down.`);
  }
  const text = await res.text();
  const body: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const message = (body as { message?: string } | undefined)?.message ?? `The server answered ${res.status}.`;
    throw new Error(message);
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
    try {
      const userAuth = await login(identity, location.origin, { timeoutMs: 10_000 });
      signedIn({ method: 'keypair', userAuth }, 'Logged in with your key pair.');
    } catch (err) {
      if (err instanceof LoginError && err.kind === 'connection') throw new Error(`Cannot reach the server at ${location.origin}: it may be down.`, { cause: err });
      throw err;
    }
  }));
  kpNew.addEventListener('click', () => act(kpNew, () => loadIdentity(true)));

  $('pw-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void act($<HTMLButtonElement>('pw-login'), async () => {
      const { body } = await api<{ userAuth: UserAuth; refreshToken: string }>('/api/login', { body: credentials() });
      signedIn({ method: 'password', userAuth: body.userAuth, refreshToken: body.refreshToken }, 'Logged in with your password.');
    });
  });
  const register = $<HTMLButtonElement>('pw-register');
  register.addEventListener('click', () => act(register, async () => {
    const { username, password } = credentials();
    await api('/api/users', { body: { username, password } });
    setStatus(`Registered ${username}. Now log in.`, true);
  }));

  const logout = $<HTMLButtonElement>('logout');
  logout.addEventListener('click', () => act(logout, async () => {
    if (!session) return;
    await api('/api/logout', { token: session.userAuth.token });
    session = undefined;
    setStatus('Logged out. The token no longer works.');
    render();
  }));
}

async function main(): Promise<void> {
  wire();
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
