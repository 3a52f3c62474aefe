/**
 * keygate's client library: logs an Ed25519 identity in over /ws/userauth and returns
 * a Hub-style UserAuth. Works in browsers (native WebSocket) and in Node (isomorphic-ws).
 *
 * @example
 * ```ts
 * import { Client, PrivateKey } from '@textile/hub';
 * import { loginWithChallenge } from 'keygate/client';
 *
 * const identity = PrivateKey.fromRandom();
 * const client = Client.withUserAuth(loginWithChallenge(identity, 'wss://auth.example.com'));
 * ```
 * @packageDocumentation
 */
import WebSocket from 'isomorphic-ws';

/** The Hub's UserAuth: what `Client.withUserAuth` consumes. */
export interface UserAuth {
  /** The app's API key. */
  key: string;
  /** The API signature of `msg`. */
  sig: string;
  /** When this UserAuth expires, as an ISO 8601 date. */
  msg: string;
  /** The access token (a JWT). */
  token?: string;
}

/** Anything that can prove an Ed25519 identity, such as `PrivateKey` from `@textile/hub`. */
export interface Identity {
  /** `public.toString()` gives the public key string ('bbaarei...'). */
  readonly public: { toString(): string };
  /** Signs bytes with the private key (64-byte detached Ed25519 signature). */
  sign(data: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

export interface LoginOptions {
  /** Give up after this many milliseconds. Default 15000. */
  timeoutMs?: number;
  /** Space-separated scopes to request. */
  scope?: string;
}

/** Why a login failed: the server's message, a timeout, or a lost connection. */
export class LoginError extends Error {
  /** 'refused' (the server said no), 'timeout', 'connection' or 'protocol'. */
  readonly kind: 'refused' | 'timeout' | 'connection' | 'protocol';
  constructor(kind: LoginError['kind'], message: string) {
    super(message);
    this.name = 'LoginError';
    this.kind = kind;
  }
}

/** The handshake path, appended when `url` names only a host. */
export const USERAUTH_PATH = '/ws/userauth';
const DEFAULT_TIMEOUT_MS = 15_000;

/** Turns 'http(s)://host' or 'ws(s)://host[/path]' into the handshake's websocket URL. */
export function userAuthUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not a websocket or http URL: ${url}`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = USERAUTH_PATH;
  return u.toString();
}

function isUserAuth(value: unknown): value is UserAuth & { token: string } {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.key === 'string' && typeof v.sig === 'string' && typeof v.msg === 'string' && typeof v.token === 'string';
}

function closeMessage(code: number, reason: string): string {
  if (code === 1006) return 'The connection to the auth server was lost or refused.';
  return `The auth server closed the connection (${code}${reason ? ` ${reason}` : ''}) before sending a token.`;
}

/** The part of a Node http.IncomingMessage read here (no Node types in the browser build). */
interface UpgradeResponse {
  statusCode?: number;
  setEncoding(encoding: 'utf8'): void;
  on(event: 'data', fn: (chunk: string) => void): void;
  on(event: 'end', fn: () => void): void;
}

/** Longest refusal text read from a refused upgrade. */
const REFUSAL_MAX = 1024;

/**
 * In Node (ws), an upgrade the server refuses with an HTTP status (429 past the address
 * limit) carries the reason in its body: read it. Browsers expose no such detail.
 */
function readRefusedUpgrade(socket: WebSocket, settle: (result: LoginError) => void): void {
  const node = socket as unknown as { on?: (event: 'unexpected-response', fn: (req: unknown, res: UpgradeResponse) => void) => void };
  if (typeof node.on !== 'function') return;
  node.on('unexpected-response', (_req, res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      if (body.length < REFUSAL_MAX) body += chunk;
    });
    res.on('end', () => {
      const status = res.statusCode ?? 0;
      const kind = status >= 400 && status < 500 ? 'refused' : 'connection';
      settle(new LoginError(kind, body.slice(0, REFUSAL_MAX) || `The auth server refused the connection (HTTP ${status}).`));
    });
  });
}

/** Runs one challenge handshake and resolves with the UserAuth. */
export function login(identity: Identity, url: string, options: LoginOptions = {}): Promise<UserAuth> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<UserAuth>((resolve, reject) => {
    let settled = false;
    const socket = new WebSocket(userAuthUrl(url));
    const timer = setTimeout(() => settle(new LoginError('timeout', `No token from the auth server within ${timeoutMs} ms.`)), timeoutMs);

    function settle(result: UserAuth | LoginError): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.onopen = socket.onmessage = socket.onclose = null;
      // Closing a socket that is still connecting raises 'error'; it must have a listener.
      socket.onerror = () => undefined;
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close();
      if (result instanceof LoginError) reject(result);
      else resolve(result);
    }

    socket.onopen = () => {
      const request: Record<string, unknown> = { type: 'token', pubkey: identity.public.toString() };
      if (options.scope !== undefined) request.scope = options.scope;
      socket.send(JSON.stringify(request));
    };
    socket.onmessage = (event) => {
      let data: { type?: unknown; value?: unknown };
      try {
        data = JSON.parse(String(event.data)) as typeof data;
      } catch {
        return settle(new LoginError('protocol', 'The auth server sent a message that is not JSON.'));
      }
      if (data.type === 'error') return settle(new LoginError('refused', String(data.value)));
      if (data.type === 'token') {
        return settle(isUserAuth(data.value) ? data.value : new LoginError('protocol', 'The auth server sent a malformed UserAuth.'));
      }
      if (data.type === 'challenge') {
        const bytes = (data.value as { data?: unknown } | undefined)?.data;
        if (!Array.isArray(bytes)) return settle(new LoginError('protocol', 'The auth server sent a malformed challenge.'));
        Promise.resolve(identity.sign(Uint8Array.from(bytes as number[]))).then(
          (sig) => {
            if (!settled) socket.send(JSON.stringify({ type: 'challenge', sig: { type: 'Buffer', data: Array.from(sig) } }));
          },
          (err: unknown) => settle(new LoginError('protocol', `Signing the challenge failed: ${String(err)}`)),
        );
      }
    };
    socket.onerror = () => {
      // A close event follows with the code; 'error' alone carries no reason in browsers.
    };
    readRefusedUpgrade(socket, settle);
    socket.onclose = (event) => settle(new LoginError('connection', closeMessage(event.code, event.reason)));
  });
}

/**
 * A callback for `Client.withUserAuth` / `Buckets.withUserAuth`: each call opens a new
 * socket, proves the identity and resolves with a fresh UserAuth.
 *
 * @param identity the user's Ed25519 identity (e.g. `PrivateKey.fromRandom()`).
 * @param url the auth server, 'ws(s)://host[:port]' or 'http(s)://...'; '/ws/userauth' is added when no path is given.
 */
export function loginWithChallenge(identity: Identity, url: string, options: LoginOptions = {}): () => Promise<UserAuth> {
  return () => login(identity, url, options);
}

/** Turns 'ws(s)://host' or 'http(s)://host[/base]' into the HTTP base URL of the API. */
function httpBase(url: string): string {
  let base = url.replace(/^ws(s?):\/\//, 'http$1://');
  while (base.endsWith('/')) base = base.slice(0, -1);
  return base;
}

/** POSTs JSON and returns the parsed answer; any refusal becomes a LoginError with the server's message. */
async function postJson(url: string, body: unknown, signal: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  } catch (err) {
    if (signal.aborted) throw new LoginError('timeout', 'No token from the auth server in time.');
    throw new LoginError('connection', `The auth server cannot be reached: ${String(err)}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new LoginError(res.ok ? 'protocol' : 'refused', res.ok ? 'The auth server sent an answer that is not JSON.' : `The auth server refused (HTTP ${res.status}).`);
  }
  if (!res.ok) {
    const message = (parsed as { message?: unknown } | null)?.message;
    throw new LoginError(res.status >= 500 ? 'connection' : 'refused', typeof message === 'string' ? message : `The auth server refused (HTTP ${res.status}).`);
  }
  return parsed;
}

/**
 * One keypair login over plain HTTP, for clients that cannot hold a websocket open:
 * POST /api/challenges, sign the challenge, POST the signature; resolves with the UserAuth.
 */
export async function loginOverHttp(identity: Identity, baseUrl: string, options: LoginOptions = {}): Promise<UserAuth> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const base = httpBase(baseUrl);
  const request: Record<string, unknown> = { pubkey: identity.public.toString() };
  if (options.scope !== undefined) request.scope = options.scope;
  const challenge = await postJson(`${base}/api/challenges`, request, signal) as { id?: unknown; value?: { data?: unknown } };
  const bytes = challenge.value?.data;
  if (typeof challenge.id !== 'string' || !Array.isArray(bytes)) throw new LoginError('protocol', 'The auth server sent a malformed challenge.');
  let sig: Uint8Array;
  try {
    sig = await identity.sign(Uint8Array.from(bytes as number[]));
  } catch (err) {
    throw new LoginError('protocol', `Signing the challenge failed: ${String(err)}`);
  }
  const answer = await postJson(`${base}/api/challenges/${encodeURIComponent(challenge.id)}`, { sig: { type: 'Buffer', data: Array.from(sig) } }, signal);
  if (!isUserAuth(answer)) throw new LoginError('protocol', 'The auth server sent a malformed UserAuth.');
  return answer;
}

/**
 * A callback for `Client.withUserAuth` that logs in over plain HTTP instead of a websocket:
 * each call makes a fresh challenge and resolves with a fresh UserAuth.
 *
 * @param identity the user's Ed25519 identity (e.g. `PrivateKey.fromRandom()`).
 * @param baseUrl the auth server, 'https://host[:port]' (a ws(s):// URL is taken as its http(s) twin).
 */
export function loginWithHttpChallenge(identity: Identity, baseUrl: string, options: LoginOptions = {}): () => Promise<UserAuth> {
  return () => loginOverHttp(identity, baseUrl, options);
}

export { WebCryptoIdentity } from './identity.js';
