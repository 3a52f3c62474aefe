/** POST /api/login {username, password} -> 200 {userId, userAuth, refreshToken, expiresAt}. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Core } from '../../../core/index.js';
import { AuthError } from '../../../errors.js';
import { bodyOf } from '../body.js';
import { limitByAddress } from '../limits.js';
import { sessionGrantBody } from './grant-body.js';

export function loginSteps(core: Core): Middleware[] {
  return [
    limitByAddress(core),
    async function passwordLogin(ctx: ParameterizedContext) {
      const { username, password, scope } = bodyOf(ctx);
      if (scope !== undefined && typeof scope !== 'string') throw new AuthError('invalid_request', 'scope must be a string.');
      const user = await core.users.login(username, password, ctx.ip);
      ctx.body = sessionGrantBody(user.id, await core.tokens.startSession(user, scope));
    },
  ];
}
