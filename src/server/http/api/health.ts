/**
 * GET /healthz: each dependency, `ok` or `unavailable`. 200 `ok` when both answer; 200
 * `degraded` when only the state store (Redis) is away (logins go on, limits count per
 * instance); 503 when the record store is away (nothing can be checked). Nothing internal.
 */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Core } from '../../../core/index.js';
import { STORE_RETRY_AFTER_S } from '../../../errors.js';

const answers = (ping: Promise<void>) => ping.then(() => 'ok' as const, () => 'unavailable' as const);

export function healthSteps(core: Core): Middleware[] {
  return [
    async function checkHealth(ctx: ParameterizedContext) {
      const [records, state] = await Promise.all([answers(core.store.ping()), answers(core.state.ping())]);
      ctx.set('Cache-Control', 'no-store');
      if (records === 'unavailable') {
        ctx.set('Retry-After', String(STORE_RETRY_AFTER_S));
        ctx.status = 503;
      }
      ctx.body = { status: records === 'unavailable' ? 'unavailable' : state === 'unavailable' ? 'degraded' : 'ok', records, state };
    },
  ];
}
