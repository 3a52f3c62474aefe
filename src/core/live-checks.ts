/**
 * Each instance remembers, for at most REVOCATION_CACHE_MS, that a token was checked live
 * (signature, expiry, revocations, account), so a resource server asking about the same
 * token again is answered without a signature check or a store round trip. Any revocation
 * made through this instance forgets every check at once; one made elsewhere is announced
 * on the state store and does the same, or at worst is seen when the checks run out.
 */

/** Limit: tokens whose check one instance remembers; the oldest is forgotten first. */
export const LIVE_CHECKS_MAX = 10_000;

export class LiveChecks<T extends { exp: number }> {
  private readonly checks = new Map<string, { value: T; until: number }>();

  constructor(private readonly ttlMs: number) {}

  /** The remembered check of a token, if it is recent and the token has not expired since. */
  get(token: string, now: number): T | undefined {
    const hit = this.checks.get(token);
    if (!hit) return undefined;
    if (hit.until <= now || hit.value.exp * 1000 <= now) {
      this.checks.delete(token);
      return undefined;
    }
    return hit.value;
  }

  remember(token: string, value: T, now: number): void {
    if (this.ttlMs === 0) return;
    if (this.checks.size >= LIVE_CHECKS_MAX) this.checks.delete(this.checks.keys().next().value as string);
    this.checks.set(token, { value, until: now + this.ttlMs });
  }

  /** Forgets every check: something was revoked. */
  forget(): void {
    this.checks.clear();
  }
}
