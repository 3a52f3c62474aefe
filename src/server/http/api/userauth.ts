/** GET /api/userauth with a Bearer token -> a fresh UserAuth for the same subject. Never anonymous. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Core } from '../../../core/index.js';
import { bearerToken } from '../auth.js';

export function userAuthSteps(core: Core): Middleware[] {
  return [
    async function reissueUserAuth(ctx: ParameterizedContext) {
      const grant = await core.tokens.reissue(bearerToken(ctx));
      ctx.body = grant.userAuth;
    },
  ];
}
