/** POST /api/introspect {token} with HTTP Basic USER_API_KEY:USER_API_SECRET -> RFC 7662. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Core } from '../../../core/index.js';
import { requireApiPair } from '../auth.js';
import { bodyOf } from '../body.js';

export function introspectSteps(core: Core): Middleware[] {
  return [
    requireApiPair(core),
    async function introspectToken(ctx: ParameterizedContext) {
      const { token } = bodyOf(ctx);
      ctx.body = await core.tokens.introspect(token);
    },
  ];
}
