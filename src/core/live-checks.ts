/**
 * Each instance remembers the tokens it has verified: the signature check holds until the
 * token expires, and the check that nothing revoked it is trusted for REVOCATION_CACHE_MS.
 * A resource server asking about the same token again is answered without either; after
 * that time only the (one round trip) revocation check runs again. Any revocation made
 * through this instance marks every check stale at once; one made elsewhere is announced on
 * the state store and does the same, or at worst is seen when the checks run out.
 */

/** Limit: tokens one instance remembers; the oldest is forgotten first. */
export const LIVE_CHECKS_MAX = 10_000;

interface Entry<T> {
  value: T;
  /** The revocation check is trusted until then, within the same epoch. */
  until: number;
  epoch: number;
}

export class LiveChecks<T extends { exp: number }> {
  private readonly checks = new Map<string, Entry<T>>();
  private epoch = 0;

  constructor(private readonly ttlMs: number) {}

  /** What is remembered of a token that has not expired, and whether its revocation check is still fresh. */
  get(token: string, now: number): { value: T; fresh: boolean } | undefined {
    const hit = this.checks.get(token);
    if (!hit) return undefined;
    if (hit.value.exp * 1000 <= now) {
      this.checks.delete(token);
      return undefined;
    }
    return { value: hit.value, fresh: hit.epoch === this.epoch && hit.until > now };
  }

  /** Marks the start of a check: pass it to {@link remember}, so a revocation during the check leaves it stale. */
  begin(): number {
    return this.epoch;
  }

  remember(token: string, value: T, now: number, begun = this.epoch): void {
    if (this.ttlMs === 0) return;
    if (!this.checks.has(token) && this.checks.size >= LIVE_CHECKS_MAX) this.checks.delete(this.checks.keys().next().value as string);
    this.checks.set(token, { value, until: now + this.ttlMs, epoch: begun });
  }

  /** Something was revoked: no revocation check is fresh any more (signature checks stay). */
  forget(): void {
    this.epoch++;
  }
}
