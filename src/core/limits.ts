/**
 * Rate limits shared by every front door: per client address (switchable with
 * RATE_LIMITS), the per-account lockout and the per-subject reissue limit (always on).
 * rate-limiter-flexible limiters whose counters live in the state store: in memory alone,
 * on Redis shared by every instance (counting per instance while Redis is away).
 *
 * Every key is bounded before it reaches a limiter: addresses are valid IP addresses
 * (IPv6 folded to its /64, the block one subscriber holds), accounts are normalised
 * usernames of at most USERNAME_MAX code points, subjects come from verified tokens.
 */
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { StateStore } from '../store/state.js';
import { AuthError } from '../errors.js';
import { addressKey } from '../ip.js';

export interface LimitsOptions {
  addressLimits: boolean;
  addressPoints: number;
  addressWindowS: number;
  /** Points a failed login costs in all (1 is already paid on arrival). */
  failedCost: number;
  lockoutAttempts: number;
  lockoutWindowS: number;
  /** Reissues (GET /api/userauth) per subject per address window. */
  reissuePoints: number;
}

const secondsOf = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/** Consumes points; a refusal by the limiter becomes the AuthError `refuse` makes. */
async function consume(limiter: RateLimiterAbstract, key: string, points: number, refuse: (seconds: number) => AuthError): Promise<void> {
  try {
    await limiter.consume(key, points);
  } catch (res) {
    if (res instanceof RateLimiterRes) throw refuse(secondsOf(res));
    throw res;
  }
}

export class Limits {
  private readonly byAddress: RateLimiterAbstract;
  private readonly byAccount: RateLimiterAbstract;
  private readonly bySubject: RateLimiterAbstract;

  constructor(state: StateStore, private readonly options: LimitsOptions) {
    this.byAddress = state.limiter({ keyPrefix: 'addr', points: options.addressPoints, durationS: options.addressWindowS });
    this.byAccount = state.limiter({ keyPrefix: 'acct', points: options.lockoutAttempts, durationS: options.lockoutWindowS });
    this.bySubject = state.limiter({ keyPrefix: 'reissue', points: options.reissuePoints, durationS: options.addressWindowS });
  }

  /** Charges one attempt to an address; throws rate_limited with Retry-After when it is over. */
  async chargeAddress(address: string | undefined): Promise<void> {
    if (!this.options.addressLimits || !address) return;
    await consume(this.byAddress, addressKey(address), 1, (s) =>
      new AuthError('rate_limited', `Too many requests from this address; retry in ${s} s.`, { retryAfter: s }));
  }

  /** A failed login costs its address more than a successful one. */
  async chargeFailure(address: string | undefined): Promise<void> {
    if (!this.options.addressLimits || !address || this.options.failedCost <= 1) return;
    await this.byAddress.penalty(addressKey(address), this.options.failedCost - 1);
  }

  /**
   * Counts one login attempt against an account before its password is checked, in one
   * atomic step: however many attempts race, at most LOCKOUT_ATTEMPTS per window get
   * through; the rest are account_locked without any hashing. A success is refunded.
   */
  async attemptAccount(account: string): Promise<void> {
    await consume(this.byAccount, account, 1, (s) =>
      new AuthError('account_locked', `Too many failed logins for this account; try again in ${s} s.`, { retryAfter: s }));
  }

  /** Gives back the attempt of a login that succeeded. */
  async refundAccount(account: string): Promise<void> {
    await this.byAccount.reward(account, 1);
  }

  /** Charges one reissue to a subject (GET /api/userauth). */
  async chargeSubject(subject: string): Promise<void> {
    await consume(this.bySubject, subject, 1, (s) =>
      new AuthError('rate_limited', `Too many token requests for this subject; retry in ${s} s.`, { retryAfter: s }));
  }
}
