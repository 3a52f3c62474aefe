/** Every HTTP route, in one table: the server mounts it, and the OpenAPI test compares it with the document. */
import Router from 'koa-router';
import type { Config } from '../../config.js';
import type { Core } from '../../core/index.js';
import type { Metrics } from '../metrics.js';
import { accountRoutes } from './api/accounts.js';
import { auditSteps } from './api/audit.js';
import { challengeRoutes } from './api/challenges.js';
import { healthSteps } from './api/health.js';
import { introspectSteps } from './api/introspect.js';
import { loginRequestRoutes } from './api/login-requests.js';
import { loginSteps } from './api/login.js';
import { logoutSteps } from './api/logout.js';
import { meRoutes } from './api/me.js';
import { provisionSteps } from './api/provision.js';
import { refreshSteps } from './api/refresh.js';
import { revokeSteps } from './api/revoke.js';
import { userAuthSteps } from './api/userauth.js';
import { registerSteps } from './api/users.js';
import { jwksRoute } from './jwks.js';
import { metricsRoute } from './metrics-route.js';
import { openApiRoute } from './openapi/route.js';
import { pageRoutes } from './page.js';

export function httpRouter(core: Core, config: Config, metrics?: Metrics): Router {
  const http = new Router();
  http.get('/.well-known/jwks.json', jwksRoute(core));
  http.get('/healthz', ...healthSteps(core));
  http.get('/openapi.json', openApiRoute());
  if (metrics && config.metricsToken !== undefined) http.get('/metrics', metricsRoute(metrics, config.metricsToken));
  for (const [route, serve] of pageRoutes(config)) http.get(route, serve);
  http.post('/api/users', ...registerSteps(core, config));
  http.post('/api/login', ...(metrics ? [metrics.timeLogin] : []), ...loginSteps(core, config));
  http.post('/api/refresh', ...refreshSteps(core, config));
  http.post('/api/logout', ...logoutSteps(core, config));
  http.post('/api/revoke', ...revokeSteps(core, config));
  http.post('/api/introspect', ...introspectSteps(core, config));
  http.get('/api/userauth', ...userAuthSteps(core, config));
  http.post('/api/provision', ...provisionSteps(core, config));
  http.get('/api/audit', ...auditSteps(core));
  accountRoutes(http, core, config);
  meRoutes(http, core, config);
  challengeRoutes(http, core, config);
  loginRequestRoutes(http, core, config);
  return http;
}
