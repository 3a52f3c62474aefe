/**
 * Starts a whole keygate from a configuration: logger, store, core and server.
 * Used by `npm start` (src/main.ts) and by the tests.
 */
import type { Config } from './config.js';
import { Core } from './core/index.js';
import { resolveApiCredentials } from './credentials.js';
import { createLogger, type Logger } from './log.js';
import { startServer, type RunningServer } from './server/index.js';
import { openStore } from './store/index.js';

export interface Keygate extends RunningServer {
  core: Core;
  log: Logger;
  config: Config;
}

export async function startKeygate(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Keygate> {
  const credentials = resolveApiCredentials(config, log);
  const store = openStore(config);
  let core: Core;
  try {
    core = await Core.open({
      store,
      apiKey: credentials.key,
      apiSecret: credentials.secret,
      issuer: config.issuer,
      tokenTtl: config.tokenTtl,
      challengeTtlMs: config.challengeTtlMs,
      onEventError: (err) => log.error({ err }, 'event listener failed'),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  core.events.on('login.refused', (e) => log.info({ event: 'login.refused', ...e }, 'login refused'));
  core.events.on('grant.issued', (e) => log.info({ event: 'grant.issued', ...e }, 'grant issued'));
  const server = await startServer(core, config, log).catch(async (err: unknown) => {
    await core.close();
    throw err;
  });
  return {
    ...server,
    core,
    log,
    config,
    async close() {
      await server.close();
      await core.close();
    },
  };
}
