/** POST /api/logout with a Bearer token -> 204; the token's whole login session stops working. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { trustedHops } from '../../address.js';
import { bearerToken } from '../auth.js';
import { limitByAddress } from '../limits.js';

export function logoutSteps(core: Core, config: Config): Middleware[] {
  return [
    limitByAddress(core, trustedHops(config)),
    async function revokeBearer(ctx: ParameterizedContext) {
      await core.tokens.logout(bearerToken(ctx));
      ctx.status = 204;
    },
  ];
}
