/**
 * Password accounts: self-registration (POST /api/users) and login. Unknown user, wrong password and disabled user
 * are refused alike, after the same amount of hashing.
 */
import { randomUUID } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { AccountRecord, RecordStore } from '../store/records.js';
import type { AccountService } from './accounts.js';
import { emitSafely, type CoreEmitter } from './events.js';
import type { Limits } from './limits.js';
import { PASSWORD_MAX, validatePassword, type PasswordHasher } from './passwords.js';
import { validateRoles } from './provision.js';
import { hasControlCharacter, normalizeUsername, USERNAME_MAX, validateUsername } from './username.js';

export interface UserServiceOptions {
  store: RecordStore;
  /** Where accounts are made (registration is one way to make one). */
  accounts: AccountService;
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

  /**
   * Self-registration (POST /api/users, `keygate users add`): a username and a password are
   * required; a taken username is duplicate_entity, without the existing account's id.
   */
  async register(username: unknown, password: unknown, roles: string[] = []): Promise<AccountRecord> {
    const name = validateUsername(username);
    const secret = validatePassword(password);
    const granted = validateRoles(roles);
    try {
      return await this.options.accounts.insert({ id: randomUUID(), username: name, password: secret, roles: granted }, 'registration');
    } catch (err) {
      if (err instanceof AuthError && err.code === 'duplicate_entity') throw new AuthError('duplicate_entity', 'That username is taken.');
      throw err;
    }
  }

  /**
   * Checks a username and password; throws invalid_credentials or account_locked. Every
   * input is bounded before any normalisation or hashing, and the attempt is counted
   * against the account before the hash runs (refunded on success).
   */
  async login(username: unknown, password: unknown, address?: string): Promise<AccountRecord> {
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new AuthError('invalid_request', 'username and password must be strings.');
    }
    if (password.length > PASSWORD_MAX * 2 || [...password].length > PASSWORD_MAX) {
      throw new AuthError('invalid_request', 'password is too long.');
    }
    if (!password.isWellFormed()) throw new AuthError('invalid_request', 'password must be well-formed Unicode (no lone surrogates).');
    const { store, hasher, limits } = this.options;
    const name = normalizeUsername(username);
    if ([...name].length > USERNAME_MAX || hasControlCharacter(name)) {
      // No account can have this name: refuse as for any unknown user, with no lockout key.
      await limits.chargeFailure(address);
      throw this.refused(new AuthError('invalid_credentials'), undefined, address);
    }
    try {
      await limits.attemptAccount(name);
    } catch (err) {
      throw this.refused(err as AuthError, undefined, address);
    }
    let user: AccountRecord | undefined;
    let ok: boolean;
    try {
      user = await store.getAccountByUsername(name);
      ok = await hasher.verify(user?.passwordHash ?? undefined, password);
    } catch (err) {
      // No password was compared (overload, store down): the attempt does not count against
      // the account, but the address pays as for a failure, so this is no cheaper path.
      await Promise.all([limits.refundAccount(name), limits.chargeFailure(address)]);
      throw err;
    }
    if (!user || !ok || user.disabled) {
      await limits.chargeFailure(address);
      throw this.refused(new AuthError('invalid_credentials'), user?.id, address);
    }
    await limits.refundAccount(name);
    if (user.passwordHash !== null && hasher.needsRehash(user.passwordHash)) {
      try {
        const passwordHash = await hasher.hash(password);
        await store.updateAccount(user.id, { passwordHash });
        return { ...user, passwordHash };
      } catch (err) {
        this.options.onRehashError?.(err);
      }
    }
    return user;
  }

  /** Records a refusal (never the typed username: it may be a password typed in the wrong field) and returns the error. */
  private refused(error: AuthError, subject: string | undefined, address: string | undefined): AuthError {
    emitSafely(this.options.events, 'login.refused', { method: 'password', door: 'password', code: error.code, reason: error.message, subject, address }, this.options.onEventError);
    return error;
  }
}
