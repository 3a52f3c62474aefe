/** POST /api/refresh {refreshToken} -> 200 with a new userAuth and a new refreshToken. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Core } from '../../../core/index.js';
import { bodyOf } from '../body.js';
import { limitByAddress } from '../limits.js';
import { sessionGrantBody } from './grant-body.js';

export function refreshSteps(core: Core): Middleware[] {
  return [
    limitByAddress(core),
    async function rotateRefreshToken(ctx: ParameterizedContext) {
      const { refreshToken } = bodyOf(ctx);
      const granted = await core.tokens.refresh(refreshToken);
      ctx.body = sessionGrantBody(granted.grant.claims.sub, granted);
    },
  ];
}
