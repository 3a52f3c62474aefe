/**
 * GET /api/userauth with a Bearer token -> a fresh UserAuth in the same login session:
 * same or narrower scope, never past the session's end. Charged per address and subject.
 */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { trustedHops } from '../../address.js';
import { bearerToken } from '../auth.js';
import { limitByAddress } from '../limits.js';

export function userAuthSteps(core: Core, config: Config): Middleware[] {
  return [
    limitByAddress(core, trustedHops(config)),
    async function reissueUserAuth(ctx: ParameterizedContext) {
      const grant = await core.tokens.reissue(bearerToken(ctx));
      ctx.body = grant.userAuth;
    },
  ];
}
