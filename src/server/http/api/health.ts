/** GET /healthz -> 200 {status: 'ok', store: 'ok'} when the store answers; 503 otherwise. Nothing internal. */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Core } from '../../../core/index.js';
import { AuthError } from '../../../errors.js';

export function healthSteps(core: Core): Middleware[] {
  return [
    async function checkHealth(ctx: ParameterizedContext) {
      try {
        await core.store.ping();
      } catch (err) {
        throw new AuthError('server_busy', 'The store does not answer.', { cause: err, retryAfter: 5 });
      }
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'ok', store: 'ok' };
    },
  ];
}
