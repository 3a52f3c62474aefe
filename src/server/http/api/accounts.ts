/**
 * The server-to-server account API, HTTP Basic USER_API_KEY:USER_API_SECRET:
 *   POST   /api/accounts {id?, username?, password?, roles?} -> 201 {id}; 409 {error: 'duplicate_entity', id}
 *   GET    /api/accounts?offset&limit&query                   -> {accounts, total, offset, limit}
 *   GET    /api/accounts/:ref  (id, public key or username)   -> the account; 404 otherwise
 *   PATCH  /api/accounts/:ref {roles?, disabled?}             -> the account   (:ref an id or public key, never a username)
 *   DELETE /api/accounts/:ref                                 -> 204 (its tokens and sessions are revoked; :ref as for PATCH)
 */
import type Router from 'koa-router';
import type { Config } from '../../../config.js';
import { accountView } from '../../../core/accounts.js';
import type { Core } from '../../../core/index.js';
import { AuthError } from '../../../errors.js';
import { requireApiPair } from '../auth.js';
import { bodyOf, jsonBody } from '../body.js';

const CREATE_FIELDS = new Set(['id', 'username', 'password', 'roles']);
const PATCH_FIELDS = new Set(['roles', 'disabled']);

function only(body: Record<string, unknown>, fields: ReadonlySet<string>): Record<string, unknown> {
  const unknown = Object.keys(body).find((k) => !fields.has(k));
  if (unknown !== undefined) throw new AuthError('invalid_request', `Unknown field ${JSON.stringify(unknown.slice(0, 40))}; expected ${[...fields].join(', ')}.`);
  return body;
}

/** A query parameter given once, or undefined; repeated ones are refused. */
function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw new AuthError('invalid_request', `Give ${name} once.`);
  return value;
}

export function accountRoutes(router: Router, core: Core, config: Config): void {
  const apiPair = requireApiPair(core);
  router.post('/api/accounts', apiPair, jsonBody(config.bodyLimitBytes), async function createAccount(ctx) {
    // No body, or {}: an account with a generated id. Anything else must be an object of known fields.
    const raw = ctx.request.body as unknown;
    const empty = raw === undefined || (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0);
    const body = empty ? {} : only(bodyOf(ctx), CREATE_FIELDS);
    const account = await core.accounts.create(body);
    ctx.status = 201;
    ctx.body = { id: account.id };
  });
  router.get('/api/accounts', apiPair, async function listAccounts(ctx) {
    const { offset, limit, query } = ctx.query;
    const page = await core.accounts.list({ offset: single(offset, 'offset'), limit: single(limit, 'limit'), query: single(query, 'query') });
    ctx.body = { accounts: page.accounts.map(accountView), total: page.total, offset: page.offset, limit: page.limit };
  });
  router.get('/api/accounts/:ref', apiPair, async function showAccount(ctx) {
    ctx.body = accountView(await core.accounts.get(ctx.params.ref));
  });
  router.patch('/api/accounts/:ref', apiPair, jsonBody(config.bodyLimitBytes), async function changeAccount(ctx) {
    ctx.body = accountView(await core.accounts.update(ctx.params.ref, only(bodyOf(ctx), PATCH_FIELDS), { usernames: false }));
  });
  router.delete('/api/accounts/:ref', apiPair, async function deleteAccount(ctx) {
    await core.accounts.delete(ctx.params.ref, { usernames: false });
    ctx.status = 204;
  });
}
