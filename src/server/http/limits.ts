/** Middleware: charges one attempt to the client address (RATE_LIMITS). */
import type { Next, ParameterizedContext } from 'koa';
import type { Core } from '../../core/index.js';
import { clientAddress } from '../address.js';

export function limitByAddress(core: Core, trustedHops: number) {
  return async function addressRateLimit(ctx: ParameterizedContext, next: Next): Promise<void> {
    await core.limits.chargeAddress(clientAddress(ctx.req, trustedHops));
    await next();
  };
}
