/**
 * The audit log: every security event of the core (logins succeeded and refused, revocations,
 * refresh-token reuse, account changes, signing-key rotations, login requests) appended to the
 * record store, off the request's hot path: events are queued and written in batches, every
 * AUDIT_FLUSH_MS or AUDIT_BATCH_MAX at a time. Nothing is dropped silently: on shutdown the
 * queue is flushed, a failed batch is retried, and events that do not fit a full queue are
 * counted (`dropped`, a metric) and logged. No secret, password or token is ever recorded:
 * events are built from the core's events field by field.
 */
import { isoTime, wholeNumber } from './query-params.js';
import { AuthError } from '../errors.js';
import type { AuditEvent, AuditRecord, RecordStore } from '../store/records.js';
import { BatchWriter } from './batch-writer.js';
import type { CoreEmitter } from './events.js';

/** Limit: events waiting to be written; past it new events are counted as dropped. */
export const AUDIT_QUEUE_MAX = 10_000;
/** Limit: events written in one commit. */
export const AUDIT_BATCH_MAX = 500;
/** How often the queue is written. */
export const AUDIT_FLUSH_MS = 250;

export interface AuditLogOptions {
  store: RecordStore;
  events: CoreEmitter;
  now: () => number;
  /** A batch could not be written for another reason than a store that is away (it stays queued and is retried). */
  onError?: (err: unknown) => void;
  /** Events were dropped because the queue was full. */
  onDrop?: (count: number) => void;
}

export class AuditLog {
  private readonly queue: AuditEvent[] = [];
  private readonly writer: BatchWriter<AuditEvent[]>;
  /** Events that did not fit the queue since the start. */
  dropped = 0;

  constructor(private readonly options: AuditLogOptions) {
    this.writer = new BatchWriter<AuditEvent[]>({
      take: () => (this.queue.length === 0 ? undefined : this.queue.splice(0, AUDIT_BATCH_MAX)),
      write: (batch) => options.store.appendAudit(batch),
      // A failed batch goes back ahead of the events queued since, so the log keeps their order.
      putBack: (batch) => void this.queue.unshift(...batch),
    }, AUDIT_FLUSH_MS, options.onError);
    this.listen(options.events);
  }

  /** Events waiting to be written (the batch being written among them). */
  get depth(): number {
    return this.queue.length + (this.writer.inFlight?.length ?? 0);
  }

  /** Queues one event (a copy of the fields it names, nothing else). */
  record(type: string, fields: { subject?: string | undefined; address?: string | undefined; door?: string | undefined; code?: string | undefined; detail?: Record<string, unknown> }): void {
    if (this.depth >= AUDIT_QUEUE_MAX) {
      this.dropped++;
      this.options.onDrop?.(1);
      return;
    }
    this.queue.push({
      at: this.options.now(), type, subject: fields.subject ?? null, address: fields.address ?? null,
      door: fields.door ?? null, code: fields.code ?? null, detail: fields.detail ?? {},
    });
    if (this.queue.length >= AUDIT_BATCH_MAX) this.writer.flushSoon();
  }

  /**
   * Writes everything queued so far; resolves when it is in the store. Rejects only with the
   * failure of a batch it wrote itself (the events stay queued): waiting on another caller's
   * batch, it goes on with its own write whatever that batch's outcome.
   */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Stops the timer and writes what is left. */
  close(): Promise<void> {
    return this.writer.close();
  }

  private listen(events: CoreEmitter): void {
    events.on('grant.issued', (e) => {
      if (e.kind === 'login' || e.kind === 'provision') this.record('login.succeeded', { subject: e.sub, door: e.door ?? e.method, detail: { jti: e.jti, scope: e.scope ?? null } });
    });
    events.on('login.refused', (e) => this.record('login.refused', { subject: e.subject, address: e.address, door: e.door, code: e.code, detail: { reason: e.reason } }));
    events.on('token.revoked', (e) => this.record(e.reason === 'refresh token reused' ? 'refresh.reused' : 'token.revoked', { subject: e.sub, detail: { sid: e.sid ?? null, jti: e.jti ?? null, reason: e.reason } }));
    events.on('account.changed', (e) => this.record(`account.${e.change}`, { subject: e.id, detail: { ...(e.by ? { by: e.by } : {}), ...(e.pubkey ? { pubkey: e.pubkey } : {}), ...(e.roles ? { roles: e.roles } : {}) } }));
    events.on('login_request', (e) => this.record(`login_request.${e.stage}`, { subject: e.userId }));
    events.on('keys.rotated', (e) => this.record('signing_key.rotated', { detail: { kid: e.kid } }));
  }
}

/** Limit: audit events one read answers. */
export const AUDIT_PAGE_MAX = 1000;

/** An audit event as the API and the CLI show it. */
export interface AuditView extends Omit<AuditRecord, 'at'> {
  at: string;
}

/**
 * One page of the audit log, read by the API and the CLI: filters checked and bounded,
 * `since` an ISO 8601 time, `after` the last id of the previous page.
 */
export async function auditPage(store: RecordStore, query: { subject?: string; type?: string; since?: string; after?: string; limit?: string }): Promise<{ events: AuditView[]; next: number | null }> {
  const text = (value: string | undefined, name: string) => {
    if (value !== undefined && (value.length === 0 || value.length > 256)) throw new AuthError('invalid_request', `${name} must be 1 to 256 characters.`);
    return value;
  };
  const since = query.since === undefined ? undefined : isoTime(query.since);
  if (since !== undefined && Number.isNaN(since)) throw new AuthError('invalid_request', 'since must be an ISO 8601 date, or date and time with its zone (2026-11-22T10:00:00Z).');
  const after = query.after === undefined ? 0 : wholeNumber(query.after);
  if (!Number.isSafeInteger(after) || after < 0) throw new AuthError('invalid_request', 'after must be the id of an audit event.');
  const limit = query.limit === undefined ? 100 : wholeNumber(query.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX) throw new AuthError('invalid_request', `limit must be 1 to ${AUDIT_PAGE_MAX}.`);
  const rows = await store.queryAudit({ subject: text(query.subject, 'subject'), type: text(query.type, 'type'), since, afterId: after, limit });
  return {
    events: rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
    next: rows.length === limit ? rows[rows.length - 1]!.id : null,
  };
}
