/**
 * Password hashing with argon2id (OWASP: m = 19 MiB, t = 2, p = 1), PHC strings,
 * off the event loop (argon2 runs in libuv's threadpool) and through a bounded pool.
 */
import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { AuthError } from '../errors.js';
import { HashPool, type HashPoolOptions } from './hash-pool.js';

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's recommended argon2id parameters: 19 MiB, 2 iterations, 1 lane. */
export const OWASP_ARGON2: Argon2Params = { memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 };

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

/** Checks a password's type and length (in Unicode code points). */
export function validatePassword(password: unknown): string {
  if (typeof password !== 'string') throw new AuthError('invalid_request', 'password must be a string.');
  // A lone surrogate would be hashed as U+FFFD: two different passwords would match.
  if (!password.isWellFormed()) throw new AuthError('invalid_request', 'password must be well-formed Unicode (no lone surrogates).');
  // Bounded in UTF-16 units first: a code point is at most two.
  const length = password.length > PASSWORD_MAX * 2 ? Infinity : [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw new AuthError('invalid_request', `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long.`);
  }
  return password;
}

export class PasswordHasher {
  readonly pool: HashPool;
  /** A real hash of a random password: verified against when the user does not exist. */
  private dummy: Promise<string> | undefined;

  constructor(private readonly params: Argon2Params, pool: HashPoolOptions) {
    this.pool = new HashPool(pool);
  }

  hash(password: string): Promise<string> {
    return this.pool.run(() => argon2.hash(password, { type: argon2.argon2id, ...this.params }));
  }

  /**
   * Verifies a password against a PHC hash, or against a dummy hash when there is none
   * (unknown user), so that both take the same time. Returns false for a malformed hash.
   */
  async verify(hash: string | undefined, password: string): Promise<boolean> {
    const target = hash ?? (await this.dummyHash());
    const ok = await this.pool.run(() => argon2.verify(target, password).catch(() => false));
    return hash !== undefined && ok;
  }

  /** Whether a stored hash was made with other parameters than today's. */
  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, this.params);
    } catch {
      return true;
    }
  }

  private dummyHash(): Promise<string> {
    this.dummy ??= argon2.hash(randomBytes(32).toString('hex'), { type: argon2.argon2id, ...this.params });
    return this.dummy;
  }

  /** Makes the dummy hash now, so the first unknown-user login is not slower than the rest. */
  async warm(): Promise<void> {
    await this.dummyHash();
  }
}
