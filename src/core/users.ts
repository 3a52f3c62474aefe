/**
 * Password users: registration and login. Unknown user, wrong password and disabled user
 * are refused alike, after the same amount of hashing.
 */
import { randomUUID } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { Store, UserRecord } from '../store/types.js';
import { emitSafely, type CoreEmitter } from './events.js';
import type { Limits } from './limits.js';
import { PASSWORD_MAX, validatePassword, type PasswordHasher } from './passwords.js';

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 64;
/** After normalisation: letters, marks, digits and . _ @ + - */
const USERNAME_PATTERN = /^[\p{L}\p{M}\p{N}._@+-]+$/u;

/** NFKC, then lower case (and NFKC again, since lower-casing can denormalise). */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** Checks and normalises a username for registration; throws invalid_request saying why. */
export function validateUsername(raw: unknown): string {
  if (typeof raw !== 'string') throw new AuthError('invalid_request', 'username must be a string.');
  const username = normalizeUsername(raw);
  const length = [...username].length;
  if (length < USERNAME_MIN || length > USERNAME_MAX) {
    throw new AuthError('invalid_request', `username must be ${USERNAME_MIN} to ${USERNAME_MAX} characters long.`);
  }
  if (!USERNAME_PATTERN.test(username)) {
    throw new AuthError('invalid_request', 'username may contain only letters, digits and . _ @ + -');
  }
  return username;
}

export interface UserServiceOptions {
  store: Store;
  hasher: PasswordHasher;
  limits: Limits;
  events: CoreEmitter;
  now?: () => number;
  onEventError?: (err: unknown) => void;
  onRehashError?: (err: unknown) => void;
}

export class UserService {
  private readonly now: () => number;

  constructor(private readonly options: UserServiceOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  /** Creates a user; an existing username is duplicate_entity. Returns the user id. */
  async register(username: unknown, password: unknown, roles: string[] = []): Promise<UserRecord> {
    const name = validateUsername(username);
    const secret = validatePassword(password);
    const { store, hasher } = this.options;
    if (await store.getUserByUsername(name)) throw new AuthError('duplicate_entity', 'That username is taken.');
    const user: UserRecord = { id: randomUUID(), username: name, passwordHash: await hasher.hash(secret), createdAt: this.now(), disabled: false, roles };
    try {
      await store.createUser(user);
    } catch (err) {
      if (err instanceof AuthError && err.code === 'duplicate_entity') throw new AuthError('duplicate_entity', 'That username is taken.');
      throw err;
    }
    return user;
  }

  /** Checks a username and password; throws invalid_credentials or account_locked. */
  async login(username: unknown, password: unknown, address?: string): Promise<UserRecord> {
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new AuthError('invalid_request', 'username and password must be strings.');
    }
    if (username.length > 1024 || [...password].length > PASSWORD_MAX) {
      throw new AuthError('invalid_request', `username or password is too long.`);
    }
    const { store, hasher, limits } = this.options;
    const name = normalizeUsername(username);
    try {
      await limits.checkAccount(name);
    } catch (err) {
      this.refused(err as AuthError, name, address);
      throw err;
    }
    const user = await store.getUserByUsername(name);
    const ok = await hasher.verify(user?.passwordHash, password);
    if (!user || !ok || user.disabled) {
      await Promise.all([limits.accountFailed(name), limits.chargeFailure(address)]);
      const err = new AuthError('invalid_credentials');
      this.refused(err, user?.id, address);
      throw err;
    }
    await limits.accountSucceeded(name);
    if (hasher.needsRehash(user.passwordHash)) {
      try {
        const passwordHash = await hasher.hash(password);
        await store.updateUser(user.id, { passwordHash });
        return { ...user, passwordHash };
      } catch (err) {
        this.options.onRehashError?.(err);
      }
    }
    return user;
  }

  private refused(error: AuthError, subject: string | undefined, address: string | undefined): void {
    emitSafely(this.options.events, 'login.refused', { method: 'password', code: error.code, reason: error.message, subject, address }, this.options.onEventError);
  }
}
