/** POST /api/logout with a Bearer token -> 204; the token and its login session stop working. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Core } from '../../../core/index.js';
import { bearerToken } from '../auth.js';

export function logoutSteps(core: Core): Middleware[] {
  return [
    async function revokeBearer(ctx: ParameterizedContext) {
      await core.tokens.logout(bearerToken(ctx));
      ctx.status = 204;
    },
  ];
}
