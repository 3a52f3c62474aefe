/**
 * GET /metrics in the Prometheus text format: on the main port for `Authorization: Bearer
 * <METRICS_TOKEN>` (compared in constant time), or without a token on METRICS_PORT.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Middleware, ParameterizedContext } from 'koa';
import { secretMatcher } from '../../core/api-sig.js';
import { AuthError } from '../../errors.js';
import type { Metrics } from '../metrics.js';
import { parseBearer } from './auth.js';

/** The main port's /metrics: the Bearer token must be METRICS_TOKEN. */
export function metricsRoute(metrics: Metrics, token: string): Middleware {
  const matches = secretMatcher(token);
  return async function serveMetrics(ctx: ParameterizedContext) {
    const given = parseBearer(ctx.get('authorization'));
    if (given === undefined || !matches(given)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="keygate metrics"');
      throw new AuthError('unauthorized', 'Send Authorization: Bearer <METRICS_TOKEN>.');
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  };
}

/** METRICS_PORT: a separate plain server with GET /metrics only. */
export async function startMetricsServer(metrics: Metrics, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
