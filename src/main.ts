/** `npm start`: reads .env and the environment, starts keygate, stops cleanly on signals. */
import 'dotenv/config';
import { ConfigError, loadConfig } from './config.js';
import { KeySealError } from './core/key-seal.js';
import { StoreError } from './errors.js';
import { startKeygate } from './keygate.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const keygate = await startKeygate(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    keygate.log.info({ signal, graceMs: config.shutdownGraceMs }, 'keygate stopping');
    keygate.shutdown().then(() => process.exit(0), (err: unknown) => {
      keygate.log.error({ err }, 'error while stopping');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof KeySealError) {
    console.error(`keygate: configuration error: ${err.message}`);
  } else if (err instanceof StoreError) {
    console.error(`keygate: cannot start: ${err.message}`);
  } else {
    console.error('keygate: failed to start:', err);
  }
  process.exit(1);
});
