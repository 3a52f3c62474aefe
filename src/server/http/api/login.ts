/** POST /api/login {username, password, scope?} -> 200 {userId, userAuth, refreshToken, expiresAt}. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { clientAddress, trustedHops } from '../../address.js';
import { bodyOf, jsonBody } from '../body.js';
import { limitByAddress } from '../limits.js';
import { sessionGrantBody } from './grant-body.js';

export function loginSteps(core: Core, config: Config): Middleware[] {
  const hops = trustedHops(config);
  return [
    limitByAddress(core, hops),
    jsonBody(config.bodyLimitBytes),
    async function passwordLogin(ctx: ParameterizedContext) {
      const { username, password, scope } = bodyOf(ctx);
      const { account, session } = await core.passwordLogin(username, password, scope, clientAddress(ctx.req, hops));
      ctx.body = sessionGrantBody(account.id, session);
    },
  ];
}
