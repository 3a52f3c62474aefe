/**
 * WS /ws/userauth: the Textile challenge handshake, wire-compatible with the Hub
 * browser example. A thin front door: it turns frames into calls of the core's
 * KeypairLogin and results into frames, and it owns the socket's timers.
 */
import WebSocket, { type RawData } from 'ws';
import type { Config } from '../../config.js';
import type { Core } from '../../core/index.js';
import type { KeypairLogin } from '../../core/keypair-login.js';
import type { Metrics } from '../metrics.js';
import { performance } from 'node:perf_hooks';
import { AuthError, asAuthError } from '../../errors.js';
import { renderSocketError, WS_CLOSE } from './close-codes.js';
import { logFailure } from '../log-failure.js';
import { ORIGIN_ECHO_MAX } from '../http/cors.js';
import type { SocketRoute } from './upgrade.js';
import type { Logger } from '../../log.js';
import { clientAddress, trustedHops } from '../address.js';

/** After we send a close frame, how long a peer gets to answer before the socket is destroyed. */
export const CLOSE_GRACE_MS = 2000;

type Incoming = { type: 'token'; pubkey: unknown; scope?: unknown } | { type: 'challenge'; sig: unknown };

function parseMessage(data: RawData, isBinary: boolean): Incoming {
  if (isBinary) throw new AuthError('unsupported_message');
  let message: unknown;
  try {
    message = JSON.parse(data.toString());
  } catch {
    throw new AuthError('invalid_message', 'The message is not valid JSON.');
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new AuthError('invalid_message', 'The message must be a JSON object with a "type".');
  }
  const { type } = message as { type?: unknown };
  if (type !== 'token' && type !== 'challenge') {
    throw new AuthError('invalid_message', `Unknown message type ${(JSON.stringify(type) ?? 'undefined').slice(0, 40)}: expected "token" or "challenge".`);
  }
  return message as Incoming;
}

/** Errors that ws raises itself (then closes with these codes) and what the client is told. */
function protocolError(code: number, config: Config): AuthError | undefined {
  if (code === WS_CLOSE.tooBig) return new AuthError('payload_too_large', `Messages are limited to ${config.wsMaxPayload} bytes.`);
  if (code === 1007) return new AuthError('invalid_message', 'The message is not valid UTF-8.');
  if (code === 1002) return new AuthError('invalid_message', 'WebSocket protocol error.');
  return undefined;
}

class UserAuthSession {
  private closed = false;
  /** A valid-looking answer is being turned into a grant; later frames are ignored. */
  private answering = false;
  private readonly timer: NodeJS.Timeout;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  private readonly started = performance.now();
  private outcome: 'token' | 'refused' | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly login: KeypairLogin,
    private readonly config: Config,
    log: Logger,
    private readonly metrics?: Metrics,
    private readonly live?: Set<UserAuthSession>,
  ) {
    this.log = log;
    live?.add(this);
    metrics?.pendingHandshakes.inc();
    this.timer = setTimeout(() => this.fail(new AuthError('handshake_timeout', `The handshake must finish within ${config.handshakeTimeoutMs} ms.`)), config.handshakeTimeoutMs);
    this.reportProtocolErrors();
    socket.on('message', this.onMessage);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  /**
   * ws answers an oversized or malformed frame by calling close(code) itself, before it
   * emits 'error'. Wrapping close lets the client still read a Textile error message first.
   */
  private reportProtocolErrors(): void {
    const close = this.socket.close.bind(this.socket);
    this.socket.close = (code?: number, reason?: string | Buffer) => {
      const error = !this.closed && code !== undefined ? protocolError(code, this.config) : undefined;
      // fail() sends the message, then comes back here with `closed` set and ws's own code.
      if (error) return this.fail(error, code);
      return close(code, reason);
    };
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.closed || this.answering) return;
    let message: Incoming;
    try {
      message = parseMessage(data, isBinary);
    } catch (err) {
      return this.fail(err);
    }
    if (message.type === 'token') return void this.sendChallenge(message.pubkey, message.scope);
    void this.sendToken(message.sig);
  };

  private async sendChallenge(pubkey: unknown, scope: unknown): Promise<void> {
    try {
      const challenge = await this.login.challenge(pubkey, scope);
      if (this.closed) return;
      this.send({ type: 'challenge', value: challenge.toJSON() });
    } catch (err) {
      this.fail(err);
    }
  }

  private async sendToken(sig: unknown): Promise<void> {
    this.answering = true;
    try {
      const grant = await this.login.answer(sig);
      if (this.closed) return;
      this.send({ type: 'token', value: grant.userAuth });
      this.outcome = 'token';
      this.finish(WS_CLOSE.normal, 'done');
    } catch (err) {
      this.fail(err);
    }
  }

  private send(message: unknown): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Sends the error message and closes with its code (or `closeCode`, when ws chose one). */
  fail(err: unknown, closeCode?: number): void {
    if (this.closed) return;
    const error = asAuthError(err);
    logFailure(this.log, error, 'userauth handshake failed');
    this.outcome = 'refused';
    this.metrics?.refused(error.code);
    this.login.abandon(error);
    const rendered = renderSocketError(error);
    this.send(rendered.message);
    this.finish(closeCode ?? rendered.closeCode, rendered.closeReason);
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code, reason);
    }
    this.armGrace();
  }

  private armGrace(): void {
    this.graceTimer ??= setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
  }

  private readonly onClose = (): void => {
    this.live?.delete(this);
    if (this.metrics) {
      this.metrics.pendingHandshakes.dec();
      if (this.outcome === 'token') this.metrics.handshakeSeconds.observe((performance.now() - this.started) / 1000);
    }
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.graceTimer);
    if (!this.login.finished) {
      this.login.abandon(new AuthError('invalid_request', 'The client closed the connection before the handshake finished.'));
    }
    this.socket.off('message', this.onMessage);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
  };

  private readonly onError = (err: Error): void => {
    this.log.debug({ err }, 'userauth socket error');
  };
}

/**
 * /ws/userauth: charged to the client address at the upgrade (an address over its limit
 * gets HTTP 429 and no socket), then the handshake. An Origin outside ALLOWED_ORIGINS is
 * refused in the Textile error format, so the page of a misconfigured app can say why.
 */
export function userAuthSocket(core: Core, config: Config, log: Logger, metrics?: Metrics): SocketRoute {
  const allowed = new Set(config.allowedOrigins);
  const hops = trustedHops(config);
  const live = new Set<UserAuthSession>();
  return {
    refuseAll(error) {
      const open = [...live];
      for (const session of open) session.fail(error);
      return open.length;
    },
    admit: (req) => core.admitKeypairLogin(clientAddress(req, hops)),
    handle: function userAuthHandshake(ctx) {
      const login = core.keypairLogin(clientAddress(ctx.req, hops));
      const session = new UserAuthSession(ctx.websocket, login, config, log, metrics, live);
      const origin = ctx.get('origin');
      if (allowed.size > 0 && origin !== '' && !allowed.has(origin)) {
        session.fail(new AuthError('origin_not_allowed', `Origin ${origin.slice(0, ORIGIN_ECHO_MAX)} is not allowed.`));
      }
    },
  };
}
