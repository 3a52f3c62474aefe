#!/usr/bin/env node
/** The keygate command line: `keygate <command>` (or `npm run cli -- <command>`). */
import 'dotenv/config';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { generateApiCredentials } from '../core/api-sig.js';
import { Core } from '../core/index.js';
import { generateSigningKeySecret, resolveApiCredentials, resolveSigningKeySecret } from '../credentials.js';
import { createLogger } from '../log.js';
import { openRecords, openStores } from '../store/index.js';
import {
  accountsCreate, accountsDelete, accountsList, accountsSetDisabled, accountsSetRoles, accountsShow, accountsUnlink,
  auditList, keysList, keysRotate, tokensRevoke, UsageError, usersAdd, usersList, usersSetDisabled,
} from './admin.js';

const USAGE = `usage: keygate <command>

commands:
  keygen                              print a fresh USER_API_KEY / USER_API_SECRET pair and SIGNING_KEY_SECRET for .env
  migrate                             bring the schema of the record store up to date, then exit
  users add <username> [--roles a,b]  create a user; the password is read from standard input
  users disable <username>            refuse the user's logins and revoke their tokens
  users enable <username>             allow the user to log in again
  users list [--json]                 list users
  accounts create [--id X] [--username U --password] [--roles a,b]
                                      create an account (any kind); with --password it is read from standard input
  accounts show <account> [--json]    show an account: by id, public key string or username
  accounts list [--query p] [--json]  list accounts (id, username or a key starting with p)
  accounts roles <account> --roles a,b  set an account's roles (--roles "" removes them all)
  accounts disable <account>          refuse the account's logins and revoke every token and session of it
  accounts enable <account>           allow the account to log in again
  accounts delete <account>           delete the account and revoke every token and session of it
  accounts unlink <account> <pubkey>  unlink a key from the account; its logins' tokens end at once
  tokens revoke <jwt>                 revoke an access token and its whole login session
  tokens revoke --subject <sub>       revoke every token of a subject, exactly as in the sub claim (user id or public key)
  tokens revoke --user <username>     revoke every token of the user with that username
  audit [--subject X] [--type T] [--since ISO-time] [--json]
                                      the audit log (logins, refusals, revocations, account changes, ...), oldest first
  keys rotate                         make a new signing key; old ones stay published until their tokens expire
  keys list                           list signing keys

Works on the store of DATA_DIR (from the environment or .env), like the server.
`;

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password: ');
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  return input.replace(/\r?\n$/, '');
}

async function withCore<T>(fn: (core: Core) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const log = createLogger('warn', process.stderr as never);
  const credentials = resolveApiCredentials(config, log);
  const signingKeySecret = resolveSigningKeySecret(config, log);
  const { records, state } = await openStores(config);
  const core = await Core.open({ config, store: records, state, apiKey: credentials.key, apiSecret: credentials.secret, signingKeySecret }).catch(async (err: unknown) => {
    await Promise.all([records.close(), state.close()]);
    throw err;
  });
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

export async function run(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      roles: { type: 'string' }, json: { type: 'boolean' }, subject: { type: 'string' }, user: { type: 'string' }, help: { type: 'boolean' },
      id: { type: 'string' }, username: { type: 'string' }, password: { type: 'boolean' }, query: { type: 'string' },
      type: { type: 'string' }, since: { type: 'string' },
    },
  });
  const [group, command, ...rest] = positionals;
  if (values.help || group === undefined || group === 'help') return USAGE;
  const roles = values.roles?.split(/[\s,]+/).filter(Boolean) ?? [];
  switch (`${group} ${command ?? ''}`.trim()) {
    case 'keygen': {
      const { key, secret } = generateApiCredentials();
      return `USER_API_KEY=${key}\nUSER_API_SECRET=${secret}\nSIGNING_KEY_SECRET=${generateSigningKeySecret()}\n`;
    }
    case 'migrate': {
      const config = loadConfig();
      // Opening a record store applies its pending migrations, under a lock on PostgreSQL.
      const records = await openRecords(config);
      await records.close();
      return `schema of the ${records.kind} store is up to date\n`;
    }
    case 'users add': {
      const password = await readPassword();
      return withCore((core) => usersAdd(core, rest, password, roles));
    }
    case 'users disable': return withCore((core) => usersSetDisabled(core, rest, true));
    case 'users enable': return withCore((core) => usersSetDisabled(core, rest, false));
    case 'users list': return withCore((core) => usersList(core, values.json ?? false));
    case 'accounts create': {
      const password = values.password ? await readPassword() : undefined;
      return withCore((core) => accountsCreate(core, { id: values.id, username: values.username, password, roles }));
    }
    case 'accounts show': return withCore((core) => accountsShow(core, rest, values.json ?? false));
    case 'accounts list': return withCore((core) => accountsList(core, values.query, values.json ?? false));
    case 'accounts roles': return withCore((core) => accountsSetRoles(core, rest, values.roles === undefined ? undefined : roles));
    case 'accounts disable': return withCore((core) => accountsSetDisabled(core, rest, true));
    case 'accounts enable': return withCore((core) => accountsSetDisabled(core, rest, false));
    case 'accounts delete': return withCore((core) => accountsDelete(core, rest));
    case 'accounts unlink': return withCore((core) => accountsUnlink(core, rest));
    case 'tokens revoke': return withCore((core) => tokensRevoke(core, rest, { subject: values.subject, user: values.user }));
    case 'audit': {
      const records = await openRecords(loadConfig());
      try {
        return await auditList(records, { subject: values.subject, type: values.type, since: values.since }, values.json ?? false);
      } finally {
        await records.close();
      }
    }
    case 'keys rotate': return withCore((core) => keysRotate(core));
    case 'keys list': return withCore((core) => keysList(core));
    default: throw new UsageError(`unknown command ${JSON.stringify(positionals.join(' '))}`);
  }
}

run(process.argv.slice(2)).then(
  (out) => {
    process.stdout.write(out);
  },
  (err: unknown) => {
    const usage = err instanceof UsageError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`keygate: ${err instanceof Error ? err.message : String(err)}\n${usage ? `\n${USAGE}` : ''}`);
    process.exitCode = usage ? 2 : 1;
  },
);
