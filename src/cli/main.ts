#!/usr/bin/env node
/** The keygate command line: `keygate <command>`. */
import 'dotenv/config';
import { generateApiCredentials } from '../core/api-sig.js';

const USAGE = `usage: keygate <command>

commands:
  keygen     print a fresh USER_API_KEY / USER_API_SECRET pair for .env
`;

function keygen(): void {
  const { key, secret } = generateApiCredentials();
  process.stdout.write(`USER_API_KEY=${key}\nUSER_API_SECRET=${secret}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'keygen':
      keygen();
      return 0;
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`keygate: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`keygate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
