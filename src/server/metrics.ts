/**
 * Prometheus metrics (prom-client), one registry per server: logins by door and outcome,
 * refusals by stable error code, tokens issued, refreshed and revoked, refresh-token reuse,
 * lockouts; handshake and password-login durations; open sockets, pending handshakes, the
 * hash queue, and the latency and errors of the record and state stores (pinged at each
 * scrape); Node's default process metrics.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Core } from '../core/index.js';
import type { ErrorCode } from '../errors.js';
import type { LogOutput } from '../log-output.js';

/** Limit: how long a scrape waits for a store's ping before counting it as an error. */
export const METRICS_PING_TIMEOUT_MS = 1000;

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  readonly logins = new Counter({ name: 'keygate_logins_total', help: 'Logins by door and outcome.', labelNames: ['door', 'outcome'] as const, registers: [this.registry] });
  readonly refusals = new Counter({ name: 'keygate_refusals_total', help: 'Refusals answered by the HTTP and websocket doors, by stable error code.', labelNames: ['code'] as const, registers: [this.registry] });
  readonly issued = new Counter({ name: 'keygate_tokens_issued_total', help: 'Access tokens issued, by kind (login, refresh, reissue, provision).', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly revoked = new Counter({ name: 'keygate_tokens_revoked_total', help: 'Revocations (logout, revoke, reuse, account changes), by reason.', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly reuse = new Counter({ name: 'keygate_refresh_reuse_total', help: 'Refresh tokens used twice (the login is revoked).', registers: [this.registry] });
  readonly lockouts = new Counter({ name: 'keygate_lockouts_total', help: 'Password logins refused because the account is locked.', registers: [this.registry] });
  readonly handshakeSeconds = new Histogram({ name: 'keygate_handshake_duration_seconds', help: 'Websocket handshakes that ended with a token, from the socket to the token.', buckets: DURATION_BUCKETS, registers: [this.registry] });
  readonly loginSeconds = new Histogram({ name: 'keygate_login_duration_seconds', help: 'Password logins over HTTP, hash included, whatever their outcome (the outcome is in keygate_logins_total).', buckets: DURATION_BUCKETS, registers: [this.registry] });
  readonly pendingHandshakes = new Gauge({ name: 'keygate_pending_handshakes', help: 'Websocket handshakes under way.', registers: [this.registry] });
  readonly storeErrors = new Counter({ name: 'keygate_store_errors_total', help: 'Store pings at scrape time that failed or timed out.', labelNames: ['store'] as const, registers: [this.registry] });

  /** `logOutput`: where the log writes, when it is keygate's own (its failures are gauges here). */
  constructor(core: Core, openSockets: () => number, logOutput?: LogOutput) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    new Gauge({ name: 'keygate_open_sockets', help: 'Open websockets.', registers, collect() {
      this.set(openSockets());
    } });
    new Gauge({ name: 'keygate_hash_queue_depth', help: 'Password hashes waiting for a slot (HASH_CONCURRENCY).', registers, collect() {
      this.set(core.hasher.pool.stats.queued);
    } });
    new Gauge({ name: 'keygate_hashes_running', help: 'Password hashes running now.', registers, collect() {
      this.set(core.hasher.pool.stats.running);
    } });
    new Gauge({ name: 'keygate_audit_queue_depth', help: 'Audit events waiting to be written.', registers, collect() {
      this.set(core.audit.depth);
    } });
    new Gauge({ name: 'keygate_audit_dropped', help: 'Audit events dropped because the queue was full (AUDIT_QUEUE_MAX), since the start.', registers, collect() {
      this.set(core.audit.dropped);
    } });
    new Gauge({ name: 'keygate_log_write_failures', help: 'Writes of log lines to standard output that failed (EAGAIN, ENOSPC, EPIPE, ...), since the start.', registers, collect() {
      this.set(logOutput?.failures ?? 0);
    } });
    new Gauge({ name: 'keygate_log_lines_dropped', help: 'Log lines dropped since the start: the backlog of unwritten lines was full (LOG_BACKLOG_MAX), or the reader was gone (EPIPE).', registers, collect() {
      this.set(logOutput?.dropped ?? 0);
    } });
    const storeErrors = this.storeErrors;
    new Gauge({ name: 'keygate_store_latency_seconds', help: 'Round trip of a trivial query to each store, at scrape time.', labelNames: ['store', 'backend'] as const, registers, async collect() {
      const ping = async (store: 'records' | 'state', backend: string, run: () => Promise<void>) => {
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([run(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), METRICS_PING_TIMEOUT_MS)))]);
          this.set({ store, backend }, (performance.now() - started) / 1000);
        } catch {
          storeErrors.inc({ store });
        } finally {
          clearTimeout(timer);
        }
      };
      await Promise.all([ping('records', core.store.kind, () => core.store.ping()), ping('state', core.state.kind, () => core.state.ping())]);
    } });

    core.events.on('grant.issued', (e) => {
      this.issued.inc({ kind: e.kind });
      if (e.kind === 'login' || e.kind === 'provision') this.logins.inc({ door: e.door ?? e.method, outcome: 'success' });
    });
    core.events.on('login.refused', (e) => {
      this.logins.inc({ door: e.door, outcome: 'refused' });
      if (e.code === 'account_locked') this.lockouts.inc();
    });
    core.events.on('token.revoked', (e) => {
      this.revoked.inc({ reason: e.reason });
      if (e.reason === 'refresh token reused') this.reuse.inc();
    });
    core.events.on('login_request', (e) => {
      if (e.stage === 'completed') this.logins.inc({ door: 'login_request', outcome: 'success' });
    });
  }

  /** Koa middleware: observes a password login's duration and outcome. */
  readonly timeLogin = async (_ctx: unknown, next: () => Promise<unknown>): Promise<void> => {
    const started = performance.now();
    try {
      await next();
    } finally {
      this.loginSeconds.observe((performance.now() - started) / 1000);
    }
  };

  /** A refusal a door answered with. */
  refused(code: ErrorCode): void {
    this.refusals.inc({ code });
  }
}
