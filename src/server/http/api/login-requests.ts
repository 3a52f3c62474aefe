/**
 * Hosted login requests:
 *   POST /api/login-requests (Basic) {postLoginURL, requiredRoles?, requireAllRoles?, ...extra} -> 201 {loginUrl, token, expiresAt}
 *   GET  /api/login-requests/:pageId/info                   -> {origin, requiredRoles, requireAllRoles, expiresAt} (the page)
 *   POST /api/login-requests/:pageId/complete (Bearer)      -> {redirect}; 403 roles_missing, 404, 409 already_completed
 * The page id is the one in loginUrl; the token goes to the app's backend and comes back to postLoginURL.
 *   GET  /api/login-requests/:token[?allowDuplicateRequest=true] (Basic) -> the login details once; 409 login_pending, 410 already_read; 403/404 when the account has lost the roles, is disabled or is gone
 */
import type Router from 'koa-router';
import type { Config } from '../../../config.js';
import type { Core } from '../../../core/index.js';
import { AuthError } from '../../../errors.js';
import { requireApiPair, bearerToken } from '../auth.js';
import { bodyOf, jsonBody } from '../body.js';
import { httpOrigin } from '../page.js';

export function loginRequestRoutes(router: Router, core: Core, config: Config): void {
  const apiPair = requireApiPair(core);
  router.post('/api/login-requests', apiPair, jsonBody(config.bodyLimitBytes), async function createLoginRequest(ctx) {
    const { token, pageId, expiresAt } = await core.loginRequests.create(bodyOf(ctx));
    ctx.status = 201;
    ctx.body = { loginUrl: `${httpOrigin(config, ctx)}/?loginRequest=${pageId}`, token, expiresAt: new Date(expiresAt).toISOString() };
  });
  router.get('/api/login-requests/:pageId/info', async function describeLoginRequest(ctx) {
    const { expiresAt, ...info } = await core.loginRequests.describe(ctx.params.pageId);
    ctx.body = { ...info, expiresAt: new Date(expiresAt).toISOString() };
  });
  router.post('/api/login-requests/:pageId/complete', async function completeLoginRequest(ctx) {
    ctx.body = await core.loginRequests.complete(ctx.params.pageId, bearerToken(ctx));
  });
  router.get('/api/login-requests/:token', apiPair, async function readLoginDetails(ctx) {
    const allow = ctx.query.allowDuplicateRequest;
    if (allow !== undefined && allow !== 'true' && allow !== 'false') throw new AuthError('invalid_request', 'allowDuplicateRequest must be true or false.');
    ctx.body = await core.loginRequests.details(ctx.params.token, allow === 'true');
  });
}
