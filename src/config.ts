/**
 * Configuration: one typed object, read from the environment (and .env through
 * dotenv), validated at start-up. A bad value throws a {@link ConfigError} that names
 * the variable. {@link CONFIG_VARIABLES} is the single source of the README's table.
 */

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

interface Variable<T> {
  /** Environment variable name. */
  name: string;
  /** The default, as it would be written in the environment; undefined = unset. */
  default: string | undefined;
  /** One line for the README. */
  doc: string;
  /** Whether the value is a secret (never logged). */
  secret?: boolean;
  parse(raw: string | undefined): T;
}

type Parser<T> = (raw: string, name: string) => T;

function variable<T>(name: string, def: string, doc: string, parse: Parser<T>): Variable<T>;
function variable<T>(name: string, def: undefined, doc: string, parse: Parser<T>, secret?: boolean): Variable<T | undefined>;
function variable<T>(name: string, def: string | undefined, doc: string, parse: Parser<T>, secret = false): Variable<T | undefined> {
  return {
    name,
    default: def,
    doc,
    secret,
    parse(raw) {
      const value = raw === undefined || raw.trim() === '' ? def : raw.trim();
      return value === undefined ? undefined : parse(value, name);
    },
  };
}

const int = (min: number, max: number): Parser<number> => (raw, name) => {
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
};

const oneOf = <T extends string>(...values: T[]): Parser<T> => (raw, name) => {
  if (!(values as string[]).includes(raw)) throw new ConfigError(name, `must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
};

const text = (maxLength: number): Parser<string> => (raw, name) => {
  if (raw.length > maxLength) throw new ConfigError(name, `must be at most ${maxLength} characters`);
  if (/[\s\p{Cc}]/u.test(raw)) throw new ConfigError(name, 'must not contain whitespace or control characters');
  return raw;
};

const bool: Parser<boolean> = (raw, name) => {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
};

const anyText: Parser<string> = (raw) => raw;

const origin: Parser<string> = (raw, name) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not an origin: ${JSON.stringify(raw)}`);
  }
  const bare = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (url.origin !== bare || !/^https?:$/.test(url.protocol)) throw new ConfigError(name, `not a bare origin (http[s]://host[:port]): ${JSON.stringify(raw)}`);
  return url.origin;
};

const url = (...schemes: string[]): Parser<string> => (raw, name) => {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a URL');
  }
  if (!schemes.includes(parsed.protocol)) throw new ConfigError(name, `must be a ${schemes.map((s) => `${s}//`).join(' or ')} URL`);
  return raw;
};

const secretText = (minLength: number): Parser<string> => (raw, name) => {
  if (raw.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters (npm run keygen makes one)`);
  return text(1024)(raw, name);
};

/** RFC 6750 b64token: the characters of a Bearer credential (the server reads Bearer headers with it). */
export const B64TOKEN = /^[\w\-.~+/]+=*$/;

/** A secret sent as a Bearer token: only b64token characters, so that a client can send it at all. */
const bearerSecret = (minLength: number): Parser<string> => (raw, name) => {
  const value = secretText(minLength)(raw, name);
  if (!B64TOKEN.test(value)) throw new ConfigError(name, 'may hold only letters, digits and - . _ ~ + / (and = at the end): it is sent as a Bearer token');
  return value;
};

const origins: Parser<string[]> = (raw, name) =>
  raw.split(',').map((s) => s.trim()).filter(Boolean).map((o) => origin(o, name));

const MINUTE = 60;
const DAY = 24 * 60 * MINUTE;

/** Every variable keygate reads, with its default and meaning. */
export const CONFIG_VARIABLES = {
  nodeEnv: variable('NODE_ENV', 'development', 'With `production`, a missing USER_API_KEY/USER_API_SECRET is fatal.', anyText),
  host: variable('HOST', '127.0.0.1', 'Interface to listen on (`0.0.0.0` for all).', text(255)),
  port: variable('PORT', '3001', 'TCP port (0 picks a free one).', int(0, 65535)),
  userApiKey: variable('USER_API_KEY', undefined, 'The API key placed in every UserAuth (`npm run keygen` makes a pair).', text(256)),
  userApiSecret: variable('USER_API_SECRET', undefined, 'The API secret, multibase base32 (`b...`); signs UserAuth.sig. Secret.', text(1024), true),
  dataDir: variable('DATA_DIR', './data', 'Where the SQLite store and the development secrets live.', anyText),
  databaseUrl: variable('DATABASE_URL', undefined, '`postgres://user:password@host:port/db`: durable records (keys, users, sessions, revocations) on PostgreSQL instead of SQLite in DATA_DIR. Secret.', url('postgres:', 'postgresql:'), true),
  databasePoolSize: variable('DATABASE_POOL_SIZE', '10', 'Limit: PostgreSQL connections per instance.', int(1, 1000)),
  redisUrl: variable('REDIS_URL', undefined, '`redis://[:password@]host:port[/db]`: short-lived state (limits, lockouts, single-use values, messages between instances) shared on Redis instead of in memory. Secret.', url('redis:', 'rediss:'), true),
  redisPrefix: variable('REDIS_PREFIX', 'keygate:', 'Prefix of every Redis key and channel keygate uses.', text(64)),
  storeTimeoutMs: variable('STORE_TIMEOUT_MS', '2000', 'Limit: longest wait for PostgreSQL or Redis (a connection or one command) before a request fails with 503 store_unavailable.', int(100, 60_000)),
  auditRetentionDays: variable('AUDIT_RETENTION_DAYS', '90', 'Limit: audit events older than this many days are purged (hourly).', int(1, 3650)),
  metricsToken: variable('METRICS_TOKEN', undefined, 'Serves GET /metrics (Prometheus) to `Authorization: Bearer <METRICS_TOKEN>` (at least 16 characters: letters, digits and - . _ ~ + /). Unset: /metrics is not served on the main port. Secret.', bearerSecret(16), true),
  metricsPort: variable('METRICS_PORT', undefined, 'Serves GET /metrics without a token on this separate port (on HOST; 0 picks a free one): keep it off the public network.', int(0, 65535)),
  signingKeySecret: variable('SIGNING_KEY_SECRET', undefined, 'Encrypts the signing keys at rest (AES-256-GCM). Required with DATABASE_URL or NODE_ENV=production; in development on SQLite one is generated into DATA_DIR. Secret.', secretText(32), true),
  issuer: variable('ISSUER', 'keygate', 'The `iss` claim of every token.', text(512)),
  tokenTtl: variable('TOKEN_TTL', '3600', 'Access token lifetime in seconds; also the UserAuth `msg` expiry.', int(30, 30 * DAY)),
  provisionTtl: variable('PROVISION_TTL', '21600', 'Lifetime in seconds of a token from POST /api/provision (6 hours); a request\'s `ttl` may only shorten it.', int(30, 30 * DAY)),
  shutdownGraceMs: variable('SHUTDOWN_GRACE_MS', '10000', 'Limit: on SIGTERM, how long in-flight handshakes and requests may finish before the rest are refused (then the stores close and keygate exits 0).', int(0, 10 * MINUTE * 1000)),
  handshakeTimeoutMs: variable('HANDSHAKE_TIMEOUT_MS', '10000', 'Limit: the whole websocket handshake, from connect to token.', int(100, 10 * MINUTE * 1000)),
  challengeTtlMs: variable('CHALLENGE_TTL_MS', '30000', 'Limit: how long a challenge may be answered.', int(100, 10 * MINUTE * 1000)),
  allowedOrigins: variable('ALLOWED_ORIGINS', '', 'Comma-separated exact origins allowed (websocket Origin, CORS); empty allows any.', origins),
  wsMaxPayload: variable('WS_MAX_PAYLOAD', '4096', 'Limit: largest websocket message in bytes.', int(256, 1024 * 1024)),
  wsMaxSockets: variable('WS_MAX_SOCKETS', '10000', 'Limit: concurrent open /ws/userauth sockets; past it the upgrade gets 503.', int(1, 1_000_000)),
  maxConnections: variable('MAX_CONNECTIONS', '20000', 'Limit: concurrent TCP connections to the server.', int(1, 1_000_000)),
  maxConnectionsPerAddress: variable('MAX_CONNECTIONS_PER_ADDRESS', '256', 'Limit: concurrent TCP connections from one peer address (not applied with TRUST_PROXY, where every peer is your proxy).', int(1, 1_000_000)),
  headersTimeoutMs: variable('HEADERS_TIMEOUT_MS', '10000', 'Limit: time for a client to send its request headers (kills idle half-open connections).', int(100, 10 * MINUTE * 1000)),
  registration: variable('REGISTRATION', 'open', '`open`: anyone may POST /api/users; `closed`: it needs HTTP Basic USER_API_KEY:USER_API_SECRET.', oneOf('open', 'closed')),
  trustProxy: variable('TRUST_PROXY', 'false', '`true`: take the client address from X-Forwarded-For as your proxy appended it (only behind your own proxy).', bool),
  trustedProxyHops: variable('TRUSTED_PROXY_HOPS', '1', 'With TRUST_PROXY: how many proxies of yours append to X-Forwarded-For; the client is the entry that many from the right.', int(1, 16)),
  loginRedirectOrigins: variable('LOGIN_REDIRECT_ORIGINS', '', 'Comma-separated exact origins a login request\'s postLoginURL may send users back to; empty refuses every login request (no open redirect).', origins),
  loginRequestTtl: variable('LOGIN_REQUEST_TTL', '600', 'Limit: seconds a login request may be completed, and its details read after completion.', int(10, DAY)),
  publicUrl: variable('PUBLIC_URL', undefined, 'The origin users reach keygate at (`https://auth.example.com`); the page\'s CSP names it. Unset: the Host header, if it is a plain host[:port].', origin),
  refreshTtl: variable('REFRESH_TTL', '2592000', 'Lifetime of a login session (its refresh tokens) in seconds.', int(60, 365 * DAY)),
  revocationCacheMs: variable('REVOCATION_CACHE_MS', '500', 'Limit: how often an instance asks the record store whether anything was revoked anywhere (one small read) before it trusts the tokens it has checked; a revocation made elsewhere reaches it within this, sooner by a message on Redis. 0 checks every token every time.', int(0, 1000)),
  refreshReuseIntervalMs: variable('REFRESH_REUSE_INTERVAL_MS', '5000', 'Limit: a just-used refresh token sent again this soon gets the same successor (a lost reply, two tabs) instead of revoking its login; 0 turns it off.', int(0, 60_000)),
  bodyLimitBytes: variable('BODY_LIMIT_BYTES', '16384', 'Limit: largest HTTP request body; larger gets 413.', int(1024, 1024 * 1024)),
  rateLimits: variable('RATE_LIMITS', 'on', 'Limit switch: `off` turns the per-address limits off (benchmarks); the per-account lockout stays.', oneOf('on', 'off')),
  rateLimitPoints: variable('RATE_LIMIT_POINTS', '600', 'Limit: points per address per window (login, registration, refresh, websocket handshake cost 1 each).', int(1, 1_000_000)),
  rateLimitWindowS: variable('RATE_LIMIT_WINDOW_S', '60', 'Limit: the per-address window in seconds.', int(1, DAY)),
  rateLimitFailedCost: variable('RATE_LIMIT_FAILED_COST', '5', 'Limit: points a failed login costs its address in all.', int(1, 1000)),
  lockoutAttempts: variable('LOCKOUT_ATTEMPTS', '10', 'Limit: failed logins per account per window before the account answers 429.', int(1, 1000)),
  lockoutWindowS: variable('LOCKOUT_WINDOW_S', '900', 'Limit: the per-account lockout window in seconds.', int(1, DAY)),
  reissueLimitPoints: variable('REISSUE_LIMIT_POINTS', '60', 'Limit: GET /api/userauth reissues per subject per RATE_LIMIT_WINDOW_S (always on).', int(1, 1_000_000)),
  hashConcurrency: variable('HASH_CONCURRENCY', '1', 'Limit: password hashes running at once (keeps a core free for handshakes).', int(1, 64)),
  hashQueueMax: variable('HASH_QUEUE_MAX', '64', 'Limit: logins waiting for a hash slot; past it 503 with Retry-After.', int(0, 100_000)),
  hashQueueTimeoutMs: variable('HASH_QUEUE_TIMEOUT_MS', '5000', 'Limit: longest wait for a hash slot before 503.', int(10, 10 * MINUTE * 1000)),
  argon2MemoryKib: variable('ARGON2_MEMORY_KIB', '19456', 'argon2id memory cost in KiB (OWASP: 19 MiB). Changing it rehashes at next login.', int(1024, 4 * 1024 * 1024)),
  argon2TimeCost: variable('ARGON2_TIME_COST', '2', 'argon2id iterations (OWASP: 2).', int(1, 100)),
  keyReloadMs: variable('KEY_RELOAD_MS', '30000', 'How often the server re-reads signing keys (to follow `keygate keys rotate`).', int(1000, DAY * 1000)),
  logLevel: variable('LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent.', oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent')),
} as const;

type Vars = typeof CONFIG_VARIABLES;

/** The validated configuration. */
export type Config = { readonly [K in keyof Vars]: ReturnType<Vars[K]['parse']> };

/** Reads and validates the configuration from an environment (default `process.env`). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_VARIABLES)) {
    out[key] = spec.parse(env[spec.name]);
  }
  return out as Config;
}
