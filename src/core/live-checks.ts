/**
 * Each instance remembers the tokens it has verified: the signature check holds until the
 * token expires, and the check that nothing revoked it holds until something is revoked
 * anywhere. The record store keeps a revocation epoch that every revocation advances; an
 * instance confirms it at most once per REVOCATION_CACHE_MS, and forgets every revocation
 * check when it has moved (or at once, for a revocation made here or announced on Redis).
 * So a resource server asking about the same tokens again and again is answered without a
 * signature check or a per-token store read, and a revocation anywhere is seen within
 * REVOCATION_CACHE_MS even if its message is lost.
 */

/** Limit: tokens one instance remembers; the oldest is forgotten first. */
export const LIVE_CHECKS_MAX = 10_000;

interface Entry<T> {
  value: T;
  /** The local generation the revocation check was made in. */
  epoch: number;
}

export class LiveChecks<T extends { exp: number }> {
  private readonly checks = new Map<string, Entry<T>>();
  /** Local generation: advanced by every revocation seen, here or anywhere. */
  private epoch = 0;
  /** The store's revocation epoch when last confirmed, and when that was. */
  private storeEpoch: number | undefined;
  private confirmedAt = -Infinity;

  constructor(private readonly ttlMs: number) {}

  /** Whether the store's revocation epoch must be confirmed before a remembered check is trusted. */
  needsConfirmation(now: number): boolean {
    return this.ttlMs > 0 && now - this.confirmedAt >= this.ttlMs;
  }

  /** Records the store's revocation epoch as read at `at`; a change (or the first reading) forgets every revocation check. */
  confirm(storeEpoch: number, at: number): void {
    if (storeEpoch !== this.storeEpoch) this.epoch++;
    this.storeEpoch = storeEpoch;
    this.confirmedAt = Math.max(this.confirmedAt, at);
  }

  /** What is remembered of a token that has not expired, and whether its revocation check is still good. */
  get(token: string, now: number): { value: T; fresh: boolean } | undefined {
    const hit = this.checks.get(token);
    if (!hit) return undefined;
    if (hit.value.exp * 1000 <= now) {
      this.checks.delete(token);
      return undefined;
    }
    return { value: hit.value, fresh: hit.epoch === this.epoch && now - this.confirmedAt < this.ttlMs };
  }

  /** Marks the start of a check: pass it to {@link remember}, so a revocation seen during the check leaves it stale. */
  begin(): number {
    return this.epoch;
  }

  remember(token: string, value: T, begun = this.epoch): void {
    if (this.ttlMs === 0) return;
    if (!this.checks.has(token) && this.checks.size >= LIVE_CHECKS_MAX) this.checks.delete(this.checks.keys().next().value as string);
    this.checks.set(token, { value, epoch: begun });
  }

  /** Something was revoked: no revocation check is good any more (signature checks stay). */
  forget(): void {
    this.epoch++;
  }
}
