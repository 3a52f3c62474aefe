/**
 * Admin commands over the same store the server uses. Each returns the text to print;
 * bad arguments throw UsageError.
 */
import type { Core } from '../core/index.js';
import { parsePublicKey } from '../core/identity.js';
import { AuthError } from '../errors.js';
import { normalizeUsername } from '../core/username.js';

export class UsageError extends Error {}

function one(args: string[], what: string): string {
  if (args.length !== 1 || !args[0]) throw new UsageError(`expected exactly one ${what}`);
  return args[0];
}

async function userByName(core: Core, name: string) {
  const user = await core.store.getUserByUsername(normalizeUsername(name));
  if (!user) throw new AuthError('not_found', `no user named ${JSON.stringify(name)}`);
  return user;
}

export async function usersAdd(core: Core, args: string[], password: string, roles: string[]): Promise<string> {
  const user = await core.users.register(one(args, 'username'), password, roles);
  return `created user ${user.username} (${user.id})${roles.length ? ` with roles ${roles.join(' ')}` : ''}\n`;
}

export async function usersSetDisabled(core: Core, args: string[], disabled: boolean): Promise<string> {
  const user = await userByName(core, one(args, 'username'));
  await core.store.updateUser(user.id, { disabled });
  if (disabled) await core.tokens.revokeSubject(user.id, 'admin: user disabled');
  return `${disabled ? 'disabled' : 'enabled'} user ${user.username} (${user.id})\n`;
}

export async function usersList(core: Core, json: boolean): Promise<string> {
  const users = [];
  for (let offset = 0; ; offset += 500) {
    const page = await core.store.listUsers({ offset, limit: 500 });
    users.push(...page);
    if (page.length < 500) break;
  }
  const rows = users.map(({ id, username, createdAt, disabled, roles }) => ({ id, username, createdAt: new Date(createdAt).toISOString(), disabled, roles }));
  if (json) return JSON.stringify(rows, null, 2) + '\n';
  return rows.map((u) => `${u.id}  ${u.username}${u.disabled ? '  [disabled]' : ''}${u.roles.length ? `  roles: ${u.roles.join(' ')}` : ''}\n`).join('') || '(no users)\n';
}

/** What a token subject is: a public key string, or the id of an existing user; anything else is refused. */
async function subjectKind(core: Core, subject: string): Promise<'public key' | 'user'> {
  try {
    parsePublicKey(subject);
    return 'public key';
  } catch {
    if (await core.store.getUserById(subject)) return 'user';
    throw new UsageError(`${JSON.stringify(subject.slice(0, 80))} is neither a public key string nor a user id (use --user for a username)`);
  }
}

/** Who `tokens revoke` is about: exactly one of a token, a token subject, or a username. */
export interface RevokeTarget {
  /** A token subject exactly as in the `sub` claim (a user id or a public key string); never resolved as a username. */
  subject?: string;
  /** A username, resolved to its user id. */
  user?: string;
}

/**
 * `tokens revoke <jwt>`: that token and its whole login session; `--subject <sub>`: every
 * token and session of that exact subject; `--user <username>`: of that user's id.
 */
export async function tokensRevoke(core: Core, args: string[], target: RevokeTarget): Promise<string> {
  const given = [args.length > 0, target.subject !== undefined, target.user !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one of a token, --subject <sub> or --user <username>');
  if (target.user !== undefined) {
    const user = await userByName(core, target.user);
    await core.tokens.revokeSubject(user.id, 'admin');
    return `revoked every token and session of user ${user.username} (${user.id}) issued until now\n`;
  }
  if (target.subject !== undefined) {
    const kind = await subjectKind(core, target.subject);
    await core.tokens.revokeSubject(target.subject, 'admin');
    return `revoked every token and session of ${kind} ${target.subject} issued until now\n`;
  }
  const token = one(args, 'token (a JWT)');
  // Only tokens this server signed can be revoked; an expired one is revoked all the same.
  const claims = await core.tokens.signedClaims(token).catch(() => {
    throw new UsageError('that is not a token signed by this server (or its signing key is gone)');
  });
  await core.tokens.revokeClaims(claims, 'admin');
  return `revoked token ${claims.jti}${claims.sid ? ` and its login session ${claims.sid}` : ''}\n`;
}

export async function keysRotate(core: Core): Promise<string> {
  const kid = await core.rotateSigningKey();
  return `new signing key ${kid}; older keys stay in the JWKS until their tokens have expired\n`;
}

export async function keysList(core: Core): Promise<string> {
  const current = core.keys.current().kid;
  const published = new Set(core.keys.jwks().keys.map((k) => k.kid));
  return (await core.store.listSigningKeys())
    .map((k) => `${k.kid}  created ${new Date(k.createdAt).toISOString()}${k.kid === current ? '  [signing]' : ''}${k.retiredAt ? `  retired ${new Date(k.retiredAt).toISOString()}` : ''}${published.has(k.kid) ? '  [published]' : ''}\n`)
    .join('');
}
