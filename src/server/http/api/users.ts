/** POST /api/users {username, password} -> 201 {userId}; 409 duplicate_entity when taken. */
import type { Middleware, Next, ParameterizedContext } from 'koa';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { trustedHops } from '../../address.js';
import { requireApiPair } from '../auth.js';
import { bodyOf, jsonBody } from '../body.js';
import { limitByAddress } from '../limits.js';

export function registerSteps(core: Core, config: Config): Middleware[] {
  const steps: Middleware[] = [limitByAddress(core, trustedHops(config))];
  if (config.registration === 'closed') steps.push(requireApiPair(core));
  steps.push(jsonBody(config.bodyLimitBytes), async function createUser(ctx: ParameterizedContext, _next: Next) {
    const { username, password } = bodyOf(ctx);
    const user = await core.users.register(username, password);
    ctx.status = 201;
    ctx.body = { userId: user.id };
  });
  return steps;
}
