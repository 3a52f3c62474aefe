/**
 * Admin commands over the same store the server uses. Each returns the text to print;
 * bad arguments throw UsageError.
 */
import type { Core } from '../core/index.js';
import { parsePublicKey } from '../core/identity.js';
import { AuthError } from '../errors.js';
import { normalizeUsername } from '../core/username.js';
import { ACCOUNT_PAGE_MAX, accountView } from '../core/accounts.js';
import type { AccountRecord, RecordStore } from '../store/records.js';
import { AUDIT_PAGE_MAX, auditPage, type AuditView } from '../core/audit.js';

export class UsageError extends Error {}

function one(args: string[], what: string): string {
  if (args.length !== 1 || !args[0]) throw new UsageError(`expected exactly one ${what}`);
  return args[0];
}

async function userByName(core: Core, name: string) {
  const user = await core.store.getAccountByUsername(normalizeUsername(name));
  if (!user) throw new AuthError('not_found', `no user named ${JSON.stringify(name)}`);
  return user;
}

/** One line (or a JSON object) per account. */
function showAccounts(accounts: AccountRecord[], json: boolean): string {
  const views = accounts.map(accountView);
  if (json) return JSON.stringify(views, null, 2) + '\n';
  return views.map((a) => `${a.id}${a.username === null ? '' : `  ${a.username}`}${a.disabled ? '  [disabled]' : ''}`
    + `${a.roles.length ? `  roles: ${a.roles.join(' ')}` : ''}${a.publicKeys.length ? `  keys: ${a.publicKeys.length}` : ''}\n`).join('') || '(no accounts)\n';
}

async function allAccounts(core: Core, query?: string): Promise<AccountRecord[]> {
  const accounts: AccountRecord[] = [];
  for (let offset = 0; ; offset += ACCOUNT_PAGE_MAX) {
    const page = await core.accounts.list({ offset, limit: ACCOUNT_PAGE_MAX, query });
    accounts.push(...page.accounts);
    if (page.accounts.length < ACCOUNT_PAGE_MAX) return accounts;
  }
}

export async function usersAdd(core: Core, args: string[], password: string, roles: string[]): Promise<string> {
  const user = await core.users.register(one(args, 'username'), password, roles);
  return `created user ${user.username} (${user.id})${roles.length ? ` with roles ${roles.join(' ')}` : ''}\n`;
}

export async function usersSetDisabled(core: Core, args: string[], disabled: boolean): Promise<string> {
  const user = await userByName(core, one(args, 'username'));
  await core.accounts.update(user.id, { disabled });
  return `${disabled ? 'disabled' : 'enabled'} user ${user.username} (${user.id})\n`;
}

export async function usersList(core: Core, json: boolean): Promise<string> {
  const users = (await allAccounts(core)).filter((a) => a.username !== null);
  const rows = users.map(({ id, username, createdAt, disabled, roles }) => ({ id, username, createdAt: new Date(createdAt).toISOString(), disabled, roles }));
  if (json) return JSON.stringify(rows, null, 2) + '\n';
  return rows.map((u) => `${u.id}  ${u.username}${u.disabled ? '  [disabled]' : ''}${u.roles.length ? `  roles: ${u.roles.join(' ')}` : ''}\n`).join('') || '(no users)\n';
}

/** `accounts create [--id X] [--username U (password on standard input)] [--roles a,b]`. */
export async function accountsCreate(core: Core, options: { id?: string; username?: string; password?: string; roles: string[] }): Promise<string> {
  const account = await core.accounts.create({ id: options.id, username: options.username, password: options.password, roles: options.roles });
  return `created account ${account.id}${account.username === null ? '' : ` (${account.username})`}${options.roles.length ? ` with roles ${options.roles.join(' ')}` : ''}\n`;
}

/** `accounts show <id | public key | username>`. */
export async function accountsShow(core: Core, args: string[], json: boolean): Promise<string> {
  const account = await core.accounts.get(one(args, 'account (id, public key or username)'));
  if (json) return JSON.stringify(accountView(account), null, 2) + '\n';
  const v = accountView(account);
  return [
    `id           ${v.id}`, `username     ${v.username ?? '-'}`, `roles        ${v.roles.join(' ') || '-'}`, `disabled     ${v.disabled}`,
    `created      ${v.createdAt}`, `last login   ${v.lastLoginAt ?? 'never'}`, ...v.publicKeys.map((k) => `key          ${k}`),
  ].join('\n') + '\n';
}

export async function accountsList(core: Core, query: string | undefined, json: boolean): Promise<string> {
  return showAccounts(await allAccounts(core, query), json);
}

/** `accounts disable|enable <ref>`: disabling ends every token and session of the account. */
export async function accountsSetDisabled(core: Core, args: string[], disabled: boolean): Promise<string> {
  const account = await core.accounts.update(one(args, 'account (id, public key or username)'), { disabled });
  return `${disabled ? 'disabled' : 'enabled'} account ${account.id}\n`;
}

/** `accounts roles <ref> --roles a,b`: sets the roles (an empty list removes them all). */
export async function accountsSetRoles(core: Core, args: string[], roles: string[] | undefined): Promise<string> {
  if (roles === undefined) throw new UsageError('give the roles with --roles a,b (or --roles "" for none)');
  const account = await core.accounts.update(one(args, 'account (id, public key or username)'), { roles });
  return `account ${account.id} has roles: ${account.roles.join(' ') || '(none)'}\n`;
}

/** `accounts delete <ref>`: deletes the account and ends every token and session of it. */
export async function accountsDelete(core: Core, args: string[]): Promise<string> {
  const account = await core.accounts.delete(one(args, 'account (id, public key or username)'));
  return `deleted account ${account.id} and revoked its tokens\n`;
}

/** `accounts unlink <ref> <public key>`: unlinks a key; its logins' tokens end at once. */
export async function accountsUnlink(core: Core, args: string[]): Promise<string> {
  if (args.length !== 2) throw new UsageError('expected an account and a public key');
  const account = await core.accounts.unlink(await core.accounts.get(args[0]), args[1]);
  return `unlinked ${args[1]} from account ${account.id}\n`;
}

/** What a token subject is: a public key string, or the id of an existing user; anything else is refused. */
async function subjectKind(core: Core, subject: string): Promise<'public key' | 'user'> {
  try {
    parsePublicKey(subject);
    return 'public key';
  } catch {
    if (await core.store.getAccount(subject)) return 'user';
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

/** `audit [--subject X] [--type T] [--since T] [--json]`: the audit log, oldest first, every page. */
export async function auditList(store: RecordStore, filters: { subject?: string; type?: string; since?: string }, json: boolean): Promise<string> {
  const events: AuditView[] = [];
  for (let after: number | null = 0; after !== null;) {
    const page = await auditPage(store, { ...filters, after: String(after), limit: String(AUDIT_PAGE_MAX) });
    events.push(...page.events);
    after = page.next;
  }
  if (json) return JSON.stringify(events, null, 2) + '\n';
  return events.map((e) => [e.at, e.type, e.subject ?? '-', e.door ?? '', e.code ?? '', e.address ?? '', Object.keys(e.detail).length ? JSON.stringify(e.detail) : '']
    .filter((v, i) => i < 3 || v !== '').join('  ') + '\n').join('') || '(no audit events)\n';
}
