/**
 * POST /api/provision with HTTP Basic and {user, resources: [{object, reference, permission?}], ttl?}
 * -> 200 {user, resources, token, userAuth, expiresAt} (Room Service's auth webhook calls this).
 */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { AuthError } from '../../../errors.js';
import { requireApiPair } from '../auth.js';
import { bodyOf, jsonBody } from '../body.js';

const FIELDS = new Set(['user', 'resources', 'ttl']);

export function provisionSteps(core: Core, config: Config): Middleware[] {
  return [
    requireApiPair(core),
    jsonBody(config.bodyLimitBytes),
    async function provisionToken(ctx: ParameterizedContext) {
      const body = bodyOf(ctx);
      const unknown = Object.keys(body).find((k) => !FIELDS.has(k));
      if (unknown !== undefined) throw new AuthError('invalid_request', `Unknown field ${JSON.stringify(unknown.slice(0, 40))}; expected user, resources, ttl.`);
      const { user, resources, grant } = await core.resources.provision(body);
      ctx.body = { user, resources, token: grant.userAuth.token, userAuth: grant.userAuth, expiresAt: grant.expiresAt.toISOString() };
    },
  ];
}
