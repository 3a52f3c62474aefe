/** Middleware: charges one attempt to the client address (RATE_LIMITS). */
import type { Next, ParameterizedContext } from 'koa';
import type { Core } from '../../core/index.js';

export function limitByAddress(core: Core) {
  return async function addressRateLimit(ctx: ParameterizedContext, next: Next): Promise<void> {
    await core.limits.chargeAddress(ctx.ip);
    await next();
  };
}
