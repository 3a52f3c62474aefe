/**
 * POST /api/revoke {token} -> 200 {}: RFC 7009 style revocation by the token's holder.
 * A refresh token or an access token (even an expired one) ends its whole login; a token
 * that is not ours is answered the same way, as the RFC asks.
 */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { trustedHops } from '../../address.js';
import { bodyOf, jsonBody } from '../body.js';
import { limitByAddress } from '../limits.js';

export function revokeSteps(core: Core, config: Config): Middleware[] {
  return [
    limitByAddress(core, trustedHops(config)),
    jsonBody(config.bodyLimitBytes),
    async function revokeHeldToken(ctx: ParameterizedContext) {
      const { token } = bodyOf(ctx);
      await core.tokens.revoke(token);
      ctx.body = {};
    },
  ];
}
