/**
 * The logged-in account, with its Bearer access token:
 *   GET    /api/me                             -> the account
 *   POST   /api/me/keys/challenge {pubkey}     -> 201 {value (Buffer JSON), expiresAt}: sign it with the key
 *   POST   /api/me/keys {pubkey, sig}          -> 201 the account, with the key linked; 409 key_linked
 *   DELETE /api/me/keys/:pubkey                -> the account, without the key
 */
import type Router from 'koa-router';
import type { Config } from '../../../config.js';
import { accountView } from '../../../core/accounts.js';
import type { Core } from '../../../core/index.js';
import { trustedHops } from '../../address.js';
import { bearerToken } from '../auth.js';
import { bodyOf, jsonBody } from '../body.js';
import { limitByAddress } from '../limits.js';

export function meRoutes(router: Router, core: Core, config: Config): void {
  const limit = limitByAddress(core, trustedHops(config));
  router.get('/api/me', async function showMe(ctx) {
    ctx.body = accountView(await core.accounts.ofToken(bearerToken(ctx)));
  });
  router.post('/api/me/keys/challenge', limit, jsonBody(config.bodyLimitBytes), async function keyChallenge(ctx) {
    const account = await core.accounts.ofToken(bearerToken(ctx), { login: true });
    const { value, expiresAt } = await core.accounts.linkChallenge(account, bodyOf(ctx).pubkey);
    ctx.status = 201;
    ctx.body = { value: value.toJSON(), expiresAt: new Date(expiresAt).toISOString() };
  });
  router.post('/api/me/keys', limit, jsonBody(config.bodyLimitBytes), async function linkKey(ctx) {
    const account = await core.accounts.ofToken(bearerToken(ctx), { login: true });
    const { pubkey, sig } = bodyOf(ctx);
    ctx.status = 201;
    ctx.body = accountView(await core.accounts.link(account, pubkey, sig));
  });
  router.delete('/api/me/keys/:pubkey', limit, async function unlinkKey(ctx) {
    const account = await core.accounts.ofToken(bearerToken(ctx), { login: true });
    ctx.body = accountView(await core.accounts.unlink(account, ctx.params.pubkey));
  });
}
