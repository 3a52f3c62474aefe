/**
 * The HTTP and websocket server: Koa for routes, koa-websocket for /ws/userauth,
 * both on one node:http server whose own limits stop idle and half-open connections.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import websockify from 'koa-websocket';
import type WebSocket from 'ws';
import type { Config } from '../config.js';
import type { Core } from '../core/index.js';
import type { Logger } from '../log.js';
import type { LogOutput } from '../log-output.js';
import { AuthError } from '../errors.js';
import { cors } from './http/cors.js';
import { accessLog } from './http/access-log.js';
import { Drain } from './drain.js';
import { Metrics } from './metrics.js';
import { startMetricsServer } from './http/metrics-route.js';
import { httpRouter } from './http/routes.js';
import { errorHandler } from './http/errors.js';
import { securityHeaders } from './http/headers.js';
import { answerClientErrors } from './client-errors.js';
import { trustedHops } from './address.js';
import { capConnectionsPerAddress } from './connections.js';
import { dispatchSocket, verifyUpgrade, type SocketRoute } from './ws/upgrade.js';
import { userAuthSocket } from './ws/userauth.js';

export interface RunningServer {
  readonly server: Server;
  /** The port actually bound (useful with PORT=0). */
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  /** ws://host:port */
  readonly wsUrl: string;
  /** How many /ws/userauth sockets are open now. */
  openSockets(): number;
  /** The Prometheus metrics of this server. */
  readonly metrics: Metrics;
  /** METRICS_PORT as bound, when set. */
  readonly metricsPort: number | undefined;
  /** Stops accepting, closes open sockets, and resolves when the port is free. */
  close(): Promise<void>;
  /** Graceful: stops accepting, lets in-flight work finish for up to `graceMs`, refuses the rest with a clear error, frees the port. */
  drain(graceMs: number): Promise<{ refused: number }>;
}

/** The websocket routes: the upgrade check and the dispatch both read this one table. */
export function socketRoutes(core: Core, config: Config, log: Logger, metrics?: Metrics): ReadonlyMap<string, SocketRoute> {
  const userAuth = userAuthSocket(core, config, log, metrics);
  // /ws/userAuth: the capitalised path some Textile client versions use.
  return new Map([['/ws/userauth', userAuth], ['/ws/userAuth', userAuth]]);
}

export function createApp(core: Core, config: Config, log: Logger, sockets: ReadonlyMap<string, SocketRoute>, drain = new Drain(), metrics?: Metrics) {
  // Koa's own proxy handling stays off: the client address comes from server/address.ts.
  const app = websockify(new Koa());
  // What reaches Koa's own error event is the client's doing (an aborted or malformed
  // request after our handler answered): a debug line, never Koa's stack print to stderr.
  app.silent = true;
  app.on('error', (err: Error & { code?: string }) => log.debug({ code: err.code, reason: err.message.slice(0, 200) }, 'client connection error'));

  const http = httpRouter(core, config, metrics);

  app.use(drain.track);
  app.use(accessLog(log, trustedHops(config)));
  app.use(errorHandler(log, (code) => metrics?.refused(code)));
  app.use(securityHeaders);
  app.use(cors(config.allowedOrigins));
  app.use(http.routes());
  app.use(http.allowedMethods({
    throw: true,
    methodNotAllowed: () => new AuthError('method_not_allowed'),
    notImplemented: () => new AuthError('method_not_allowed'),
  }));

  app.ws.use(dispatchSocket(sockets));
  return app;
}

export async function startServer(core: Core, config: Config, log: Logger, logOutput?: LogOutput): Promise<RunningServer> {
  let openSockets = () => 0;
  const metrics = new Metrics(core, () => openSockets(), logOutput);
  const sockets = socketRoutes(core, config, log, metrics);
  const drain = new Drain();
  const app = createApp(core, config, log, sockets, drain, metrics);
  openSockets = () => app.ws.server?.clients.size ?? 0;
  const server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: Math.max(config.headersTimeoutMs, 30_000),
      connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
      keepAliveTimeout: 5000,
    },
    app.callback(),
  );
  server.maxConnections = config.maxConnections;
  answerClientErrors(server);
  if (!config.trustProxy) capConnectionsPerAddress(server, config.maxConnectionsPerAddress);
  app.ws.listen({
    server,
    maxPayload: config.wsMaxPayload,
    perMessageDeflate: false,
    verifyClient: verifyUpgrade(sockets, () => app.ws.server, config.wsMaxSockets, () => drain.draining),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const metricsServer = config.metricsPort === undefined ? undefined : await startMetricsServer(metrics, config.host, config.metricsPort);
  log.info({ host: config.host, ...(metricsServer ? { metricsPort: metricsServer.port } : {}), port }, 'keygate listening');
  const closeMetrics = () => new Promise<void>((resolve) => {
    if (!metricsServer) return resolve();
    metricsServer.server.closeAllConnections();
    metricsServer.server.close(() => resolve());
  });

  return {
    metrics,
    metricsPort: metricsServer?.port,
    server,
    port,
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    openSockets: () => app.ws.server?.clients.size ?? 0,
    async drain(graceMs) {
      const result = await drain.run(server, app.ws.server, graceMs, (error) => [...new Set(sockets.values())].reduce((n, route) => n + (route.refuseAll?.(error) ?? 0), 0));
      await closeMetrics();
      return result;
    },
    async close() {
      await closeMetrics();
      const wss = app.ws.server;
      for (const socket of wss?.clients ?? []) (socket as WebSocket).terminate();
      await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
