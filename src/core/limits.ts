/**
 * Rate limits shared by every front door: per client address (switchable with
 * RATE_LIMITS) and the per-account lockout (always on). Backed by rate-limiter-flexible,
 * whose limiters can later keep their state in Redis.
 */
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AuthError } from '../errors.js';

export interface LimitsOptions {
  addressLimits: boolean;
  addressPoints: number;
  addressWindowS: number;
  /** Points a failed login costs in all (1 is already paid on arrival). */
  failedCost: number;
  lockoutAttempts: number;
  lockoutWindowS: number;
}

const secondsOf = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

export class Limits {
  private readonly byAddress: RateLimiterAbstract;
  private readonly byAccount: RateLimiterAbstract;

  constructor(private readonly options: LimitsOptions) {
    this.byAddress = new RateLimiterMemory({ keyPrefix: 'addr', points: options.addressPoints, duration: options.addressWindowS });
    this.byAccount = new RateLimiterMemory({ keyPrefix: 'acct', points: options.lockoutAttempts, duration: options.lockoutWindowS });
  }

  /** Charges one attempt to an address; throws rate_limited with Retry-After when it is over. */
  async chargeAddress(address: string | undefined): Promise<void> {
    if (!this.options.addressLimits || !address) return;
    try {
      await this.byAddress.consume(address, 1);
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        throw new AuthError('rate_limited', `Too many requests from this address; retry in ${secondsOf(res)} s.`, { retryAfter: secondsOf(res) });
      }
      throw res;
    }
  }

  /** A failed login costs its address more than a successful one. */
  async chargeFailure(address: string | undefined): Promise<void> {
    if (!this.options.addressLimits || !address || this.options.failedCost <= 1) return;
    await this.byAddress.penalty(address, this.options.failedCost - 1);
  }

  /** Throws account_locked (without any password check) while the account is locked. */
  async checkAccount(account: string): Promise<void> {
    const res = await this.byAccount.get(account);
    if (res && res.consumedPoints >= this.options.lockoutAttempts) {
      throw new AuthError('account_locked', `Too many failed logins for this account; try again in ${secondsOf(res)} s.`, { retryAfter: secondsOf(res) });
    }
  }

  async accountFailed(account: string): Promise<void> {
    await this.byAccount.penalty(account, 1);
  }

  async accountSucceeded(account: string): Promise<void> {
    await this.byAccount.delete(account);
  }
}
