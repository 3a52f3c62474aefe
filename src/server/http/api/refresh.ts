/** POST /api/refresh {refreshToken} -> 200 with a new userAuth and the refresh token's successor. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { trustedHops } from '../../address.js';
import { bodyOf, jsonBody } from '../body.js';
import { limitByAddress } from '../limits.js';
import { sessionGrantBody } from './grant-body.js';

export function refreshSteps(core: Core, config: Config): Middleware[] {
  return [
    limitByAddress(core, trustedHops(config)),
    jsonBody(config.bodyLimitBytes),
    async function rotateRefreshToken(ctx: ParameterizedContext) {
      const { refreshToken } = bodyOf(ctx);
      const granted = await core.tokens.refresh(refreshToken);
      ctx.body = sessionGrantBody(granted.grant.claims.sub, granted);
    },
  ];
}
