import { expect } from 'chai';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';
import { DEV_CREDENTIALS_FILE, resolveApiCredentials } from '../src/credentials.js';
import { createLogger } from '../src/log.js';
import { tempDir, TEST_API_KEY, TEST_API_SECRET } from './helpers/keygate.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).to.equal(3001);
    expect(c.host).to.equal('127.0.0.1');
    expect(c.dataDir).to.equal('./data');
    expect(c.tokenTtl).to.equal(3600);
    expect(c.handshakeTimeoutMs).to.equal(10_000);
    expect(c.challengeTtlMs).to.equal(30_000);
    expect(c.wsMaxPayload).to.equal(4096);
    expect(c.allowedOrigins).to.deep.equal([]);
    expect(c.userApiKey).to.equal(undefined);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', USER_API_KEY: '  ' })).to.include({ port: 3001, userApiKey: undefined });
  });

  for (const [env, variable, problem] of [
    [{ PORT: 'abc' }, 'PORT', 'expected a whole number, got "abc"'],
    [{ PORT: '70000' }, 'PORT', 'must be between 0 and 65535, got 70000'],
    [{ TOKEN_TTL: '1.5' }, 'TOKEN_TTL', 'expected a whole number, got "1.5"'],
    [{ TOKEN_TTL: '5' }, 'TOKEN_TTL', 'must be between 30 and 2592000, got 5'],
    [{ WS_MAX_PAYLOAD: '10' }, 'WS_MAX_PAYLOAD', 'must be between 256 and 1048576, got 10'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    [{ ALLOWED_ORIGINS: 'https://a.example.com/path' }, 'ALLOWED_ORIGINS', 'not a bare origin (http[s]://host[:port]): "https://a.example.com/path"'],
    [{ ALLOWED_ORIGINS: 'not a url' }, 'ALLOWED_ORIGINS', 'not an origin: "not a url"'],
    [{ USER_API_KEY: 'has space' }, 'USER_API_KEY', 'must not contain whitespace or control characters'],
    [{ METRICS_TOKEN: 'scrape-me-please!' }, 'METRICS_TOKEN', 'may hold only letters, digits and - . _ ~ + / (and = at the end): it is sent as a Bearer token'],
  ] as const) {
    it(`names ${variable} when it is bad (${JSON.stringify(env)})`, () => {
      const err = configError(env);
      expect(err.variable).to.equal(variable);
      expect(err.message).to.equal(`${variable}: ${problem}`);
    });
  }

  it('normalises ALLOWED_ORIGINS', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: 'https://a.example.com/, http://localhost:3000' }).allowedOrigins)
      .to.deep.equal(['https://a.example.com', 'http://localhost:3000']);
  });

  describe('API key and secret', () => {
    const silent = createLogger('silent');
    let dir: string;
    beforeEach(() => {
      dir = tempDir();
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('uses USER_API_KEY and the decoded USER_API_SECRET', () => {
      const creds = resolveApiCredentials(loadConfig({ USER_API_KEY: TEST_API_KEY, USER_API_SECRET: TEST_API_SECRET, DATA_DIR: dir }), silent);
      expect(creds.key).to.equal(TEST_API_KEY);
      expect(creds.secret).to.have.length(32);
      expect(creds.dev).to.equal(false);
    });

    for (const [secret, problem] of [
      ['zabc', 'must be multibase base32, starting with "b"'],
      ['b0189', 'is not valid base32'],
      ['bmfrgg', 'must decode to at least 16 bytes'],
    ]) {
      it(`rejects USER_API_SECRET=${secret}`, () => {
        expect(() => resolveApiCredentials(loadConfig({ USER_API_KEY: 'k', USER_API_SECRET: secret!, DATA_DIR: dir }), silent))
          .to.throw(ConfigError, `USER_API_SECRET: ${problem}`);
      });
    }

    it('requires both or neither', () => {
      expect(() => resolveApiCredentials(loadConfig({ USER_API_KEY: 'k', DATA_DIR: dir }), silent))
        .to.throw(ConfigError, /^USER_API_SECRET: set both/);
    });

    it('is fatal when missing with NODE_ENV=production', () => {
      expect(() => resolveApiCredentials(loadConfig({ NODE_ENV: 'production', DATA_DIR: dir }), silent))
        .to.throw(ConfigError, /^USER_API_KEY: USER_API_KEY and USER_API_SECRET are required when NODE_ENV=production/);
      expect(existsSync(join(dir, DEV_CREDENTIALS_FILE))).to.equal(false);
    });

    it('otherwise makes a dev pair once, keeps it private in DATA_DIR, and warns loudly', () => {
      const lines: string[] = [];
      const log = createLogger('info', { write: (l: string) => void lines.push(l) });
      const first = resolveApiCredentials(loadConfig({ DATA_DIR: dir }), log);
      const second = resolveApiCredentials(loadConfig({ DATA_DIR: dir }), log);
      expect(first.dev).to.equal(true);
      expect(second.key).to.equal(first.key);
      expect(Buffer.from(second.secret).equals(Buffer.from(first.secret))).to.equal(true);
      expect(statSync(join(dir, DEV_CREDENTIALS_FILE)).mode & 0o777).to.equal(0o600);
      expect(lines).to.have.length(2);
      expect(JSON.parse(lines[0]!)).to.include({ level: 40 });
      expect(lines[0]).to.include('DEVELOPMENT API KEY IN USE');
      const { secret } = JSON.parse(readFileSync(join(dir, DEV_CREDENTIALS_FILE), 'utf8')) as { secret: string };
      expect(lines.join('')).not.to.include(secret);
    });
  });

  it('is documented: the README table lists every variable with its default', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = new Map<string, string>();
    for (const m of readme.matchAll(/^\| `([A-Z0-9_]+)` \| (?:`([^`]*)`|—) \|/gm)) rows.set(m[1]!, m[2] ?? '');
    for (const v of Object.values(CONFIG_VARIABLES)) {
      expect(rows.has(v.name), `README documents ${v.name}`).to.equal(true);
      expect(rows.get(v.name), `README default of ${v.name}`).to.equal(v.default ?? '');
    }
    expect([...rows.keys()].sort()).to.deep.equal(Object.values(CONFIG_VARIABLES).map((v) => v.name).sort());
  });

  it('is complete in .env.example', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    for (const v of Object.values(CONFIG_VARIABLES)) expect(example, v.name).to.match(new RegExp(`^#? ?${v.name}=`, 'm'));
  });
});
