/**
 * Starts a whole keygate from a configuration: logger, store, core and server.
 * Used by `npm start` (src/main.ts) and by the tests.
 */
import type { Config } from './config.js';
import { Core } from './core/index.js';
import { resolveApiCredentials, resolveSigningKeySecret } from './credentials.js';
import { createLogger, type Logger } from './log.js';
import { LogOutput } from './log-output.js';
import { startServer, type RunningServer } from './server/index.js';
import { openStores } from './store/index.js';

export interface Keygate extends RunningServer {
  core: Core;
  log: Logger;
  config: Config;
  /** SIGTERM: stops accepting, lets in-flight work finish for up to SHUTDOWN_GRACE_MS, refuses the rest clearly, closes the stores. */
  shutdown(): Promise<void>;
}

/** How often expired refresh tokens, sessions and revocations are deleted. */
export const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** Deletes what has expired (sessions, refresh tokens, revocations) and audit events past AUDIT_RETENTION_DAYS. */
export async function purgeOnce(core: Core, config: Config): Promise<{ expired: number; audit: number }> {
  const now = core.now();
  const [expired, audit] = await Promise.all([
    core.store.purgeExpired(now),
    core.store.purgeAudit(now - config.auditRetentionDays * 24 * 3600 * 1000),
  ]);
  return { expired, audit };
}

/** Background work: follow key rotations made elsewhere, and purge what has expired. */
function maintenance(core: Core, config: Config, log: Logger): NodeJS.Timeout[] {
  const reload = setInterval(() => {
    core.keys.reload().catch((err: unknown) => log.error({ err }, 'reloading signing keys failed'));
  }, config.keyReloadMs);
  const purge = setInterval(() => {
    purgeOnce(core, config).then(
      (rows) => log.debug(rows, 'purged expired records and old audit events'),
      (err: unknown) => log.error({ err }, 'purging failed'),
    );
  }, PURGE_INTERVAL_MS);
  reload.unref();
  purge.unref();
  return [reload, purge];
}

export interface KeygateOptions {
  /** The clock (ms since the epoch) the core reads; tests inject one to move time without sleeping. */
  now?: () => number;
  /** Where `log` writes, for the metrics of its failures (made here with the log when no log is given). */
  logOutput?: LogOutput;
}

/** Starts keygate; without `log`, it logs to standard output (src/log-output.ts) at config.logLevel. */
export async function startKeygate(config: Config, givenLog?: Logger, options: KeygateOptions = {}): Promise<Keygate> {
  const ownOutput = givenLog === undefined ? new LogOutput() : undefined;
  const logOutput = ownOutput ?? options.logOutput;
  const log = givenLog ?? createLogger(config.logLevel, logOutput);
  const credentials = resolveApiCredentials(config, log);
  const signingKeySecret = resolveSigningKeySecret(config, log);
  const { records, state } = await openStores(config, options.now);
  if (config.databaseUrl !== undefined && config.redisUrl === undefined) {
    log.warn('DATABASE_URL without REDIS_URL: limits, lockouts and key rotation messages stay in this instance; run one instance, or set REDIS_URL');
  }
  let core: Core;
  try {
    core = await Core.open({
      config,
      store: records,
      state,
      apiKey: credentials.key,
      apiSecret: credentials.secret,
      signingKeySecret,
      now: options.now,
      onBackgroundError: (err) => log.error({ err }, 'background task failed'),
    });
  } catch (err) {
    await Promise.all([records.close(), state.close()]);
    throw err;
  }
  core.events.on('login.refused', (e) => log.info({ event: 'login.refused', ...e }, 'login refused'));
  core.events.on('grant.issued', (e) => log.info({ event: 'grant.issued', ...e }, 'grant issued'));
  core.events.on('token.revoked', (e) => log.info({ event: 'token.revoked', ...e }, 'token revoked'));
  const server = await startServer(core, config, log, logOutput).catch(async (err: unknown) => {
    await core.close();
    throw err;
  });
  const timers = maintenance(core, config, log);
  return {
    ...server,
    core,
    log,
    config,
    async close() {
      timers.forEach(clearInterval);
      await server.close();
      await core.close();
      ownOutput?.close();
    },
    async shutdown() {
      timers.forEach(clearInterval);
      const { refused } = await server.drain(config.shutdownGraceMs);
      log.info({ refused, graceMs: config.shutdownGraceMs }, 'keygate drained');
      await core.close();
      ownOutput?.close();
    },
  };
}
