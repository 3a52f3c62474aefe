/**
 * GET /api/audit?subject&type&since&after&limit (HTTP Basic API pair): audit events, oldest
 * first; `after` is the last id of the previous page. `since` is an ISO 8601 time.
 */
import type { Middleware, ParameterizedContext } from 'koa';
import type { Core } from '../../../core/index.js';
import { auditPage } from '../../../core/audit.js';
import { AuthError } from '../../../errors.js';
import { requireApiPair } from '../auth.js';

const single = (value: string | string[] | undefined, name: string): string | undefined => {
  if (Array.isArray(value)) throw new AuthError('invalid_request', `Give ${name} once.`);
  return value;
};

export function auditSteps(core: Core): Middleware[] {
  return [
    requireApiPair(core),
    async function readAudit(ctx: ParameterizedContext) {
      const q = ctx.query;
      ctx.body = await auditPage(core.store, {
        subject: single(q.subject, 'subject'), type: single(q.type, 'type'), since: single(q.since, 'since'),
        after: single(q.after, 'after'), limit: single(q.limit, 'limit'),
      });
    },
  ];
}
