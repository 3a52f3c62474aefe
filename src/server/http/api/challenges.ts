/**
 * The keypair login over plain HTTP:
 *   POST /api/challenges {pubkey, scope?}  -> 201 {id, value (Buffer JSON, 32 bytes), expiresAt}
 *   POST /api/challenges/:id {sig}         -> 200 {key, sig, msg, token}, as the websocket's UserAuth
 */
import type Router from 'koa-router';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { clientAddress, trustedHops } from '../../address.js';
import { bodyOf, jsonBody } from '../body.js';

export function challengeRoutes(router: Router, core: Core, config: Config): void {
  const hops = trustedHops(config);
  router.post('/api/challenges', jsonBody(config.bodyLimitBytes), async function issueChallenge(ctx) {
    const { pubkey, scope } = bodyOf(ctx);
    const { id, value, expiresAt } = await core.challenges.issue(pubkey, scope, clientAddress(ctx.req, hops));
    ctx.status = 201;
    ctx.body = { id, value: value.toJSON(), expiresAt: new Date(expiresAt).toISOString() };
  });
  router.post('/api/challenges/:id', jsonBody(config.bodyLimitBytes), async function answerChallenge(ctx) {
    const grant = await core.challenges.redeem(ctx.params.id, bodyOf(ctx).sig, clientAddress(ctx.req, hops));
    ctx.body = grant.userAuth;
  });
}
