/** POST /api/introspect {token} with HTTP Basic USER_API_KEY:USER_API_SECRET -> RFC 7662 (JSON or form body). */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { requireApiPair } from '../auth.js';
import { bodyOf, jsonOrFormBody } from '../body.js';

export function introspectSteps(core: Core, config: Config): Middleware[] {
  return [
    requireApiPair(core),
    jsonOrFormBody(config.bodyLimitBytes),
    async function introspectToken(ctx: ParameterizedContext) {
      const { token } = bodyOf(ctx);
      ctx.body = await core.tokens.introspect(token);
    },
  ];
}
