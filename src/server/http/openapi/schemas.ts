/**
 * The JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of keygate's HTTP bodies: what each
 * route answers, and what it reads. Limits come from the constants the core enforces.
 */
import { ACCOUNT_PAGE_MAX } from '../../../core/accounts.js';
import { AUDIT_PAGE_MAX } from '../../../core/audit.js';
import { POST_LOGIN_URL_MAX } from '../../../core/login-requests.js';
import { PASSWORD_MAX } from '../../../core/passwords.js';
import { ROLES_MAX } from '../../../core/provision.js';
import { RESOURCES_MAX } from '../../../core/resources.js';
import { TOKEN_MAX } from '../../../core/tokens.js';
import { USERNAME_INPUT_MAX } from '../../../core/username.js';

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

const string = (description?: string, extra: Schema = {}): Schema => ({ type: 'string', ...(description ? { description } : {}), ...extra });
const time = (description: string): Schema => string(description, { format: 'date-time' });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });

/** A closed object: every listed property, `required` of them present, nothing else. */
export function object(properties: Record<string, Schema>, required: string[] = Object.keys(properties), extra: Schema = {}): Schema {
  return { type: 'object', properties, required, additionalProperties: false, ...extra };
}

/** Node's Buffer JSON: how Textile's clients send and receive bytes. */
const bufferJson = (bytes: number, description: string, maxBytes = bytes): Schema => object({
  type: { const: 'Buffer' },
  data: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 }, minItems: bytes, maxItems: maxBytes },
}, ['type', 'data'], { description });

const roles: Schema = { type: 'array', items: string(undefined, { minLength: 1, maxLength: 64 }), maxItems: ROLES_MAX, description: 'Role names.' };

export const SCHEMAS: Record<string, Schema> = {
  UserAuth: object({
    key: string('The API key (USER_API_KEY) the token is for.'),
    sig: string('Base32 HMAC-SHA256 of `msg`, keyed with the API secret (the Hub\'s API signature).'),
    msg: string('The signature\'s message: an RFC 3339 time.'),
    token: string('The access token: an EdDSA JWT, verifiable with /.well-known/jwks.json.'),
  }, undefined, { description: 'What `Client.withUserAuth` of @textile/hub consumes.' }),

  SessionGrant: object({
    userId: string('The account id (the token\'s `sub`).'),
    userAuth: ref('UserAuth'),
    refreshToken: string('Single-use; exchanged at POST /api/refresh for the next one.'),
    expiresAt: time('When the access token expires.'),
  }),

  Account: object({
    id: string('Stable id: a UUID for password users, the public key for a key\'s own account, or the id the app chose.'),
    username: nullable(string()),
    publicKeys: { type: 'array', items: string('An Ed25519 identity string.') },
    roles,
    disabled: { type: 'boolean' },
    createdAt: time('When the account was created.'),
    lastLoginAt: nullable(time('The last login (to the minute).')),
  }),

  AccountPage: object({
    accounts: { type: 'array', items: ref('Account') },
    total: { type: 'integer', minimum: 0, description: 'How many accounts match the query.' },
    offset: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: ACCOUNT_PAGE_MAX },
  }),

  Resource: object({
    object: string('The kind of resource, such as `room`.', { pattern: '^[\\w.:-]{1,64}$' }),
    reference: string('Which one.', { pattern: '^[\\w.~:@/+=-]{1,256}$' }),
    permission: string('What the token may do with it.', { pattern: '^[\\w.:-]{1,64}$' }),
  }, ['object', 'reference']),

  Provisioned: object({
    user: string('The app\'s user id (the token\'s `sub`).'),
    resources: { type: 'array', items: ref('Resource'), maxItems: RESOURCES_MAX },
    token: string('The access token (also in userAuth.token).'),
    userAuth: ref('UserAuth'),
    expiresAt: time('When the token expires.'),
  }),

  Introspection: {
    description: 'RFC 7662: `{active: false}` for anything that is not a live token of this server.',
    oneOf: [
      object({ active: { const: false } }),
      object({
        active: { const: true },
        token_type: { const: 'Bearer' },
        iss: string('The issuer (PUBLIC_URL or `keygate`).'),
        sub: string('The account id.'),
        iat: { type: 'integer' },
        exp: { type: 'integer' },
        jti: string(),
        amr: { type: 'array', items: { enum: ['pop', 'pwd'] }, minItems: 1, maxItems: 1, description: 'RFC 8176: `pop` for a key, `pwd` for a password; none for a provisioned token.' },
        scope: string('Space-separated roles granted.'),
        pubkey: string('The key a keypair login proved.'),
        resources: { type: 'array', items: ref('Resource') },
        sid: string('The login session the token belongs to.'),
      }, ['active', 'token_type', 'iss', 'sub', 'iat', 'exp', 'jti']),
    ],
  },

  Jwks: object({
    keys: {
      type: 'array',
      items: {
        type: 'object',
        properties: { kty: { const: 'OKP' }, crv: { const: 'Ed25519' }, x: string(), kid: string(), alg: { const: 'EdDSA' }, use: { const: 'sig' } },
        required: ['kty', 'crv', 'x', 'kid', 'alg', 'use'],
        additionalProperties: false,
      },
      description: 'Newest first; retired keys stay while tokens they signed can be valid.',
    },
  }),

  Health: object({
    status: { enum: ['ok', 'degraded', 'unavailable'], description: '`degraded`: the state store (Redis) is away; logins go on with per-instance limits.' },
    records: { enum: ['ok', 'unavailable'] },
    state: { enum: ['ok', 'unavailable'] },
  }),

  Challenge: object({
    id: string('Answer at POST /api/challenges/{id}.'),
    value: bufferJson(32, 'The bytes to sign with the key.'),
    expiresAt: time('After this the challenge is refused.'),
  }),

  LinkChallenge: object({
    value: bufferJson(32, 'The bytes to sign with the key being linked: a statement of the purpose, then 32 random bytes.', 256),
    expiresAt: time('After this the challenge is refused.'),
  }),

  AuditEvent: object({
    id: { type: 'integer', minimum: 1 },
    at: time('When it happened.'),
    type: string('Such as `login.succeeded`, `login.refused`, `token.revoked`, `account.created`.'),
    subject: nullable(string('The account or key it is about.')),
    address: nullable(string('The client address.')),
    door: nullable(string('The front door of a login: websocket, http-challenge, password, provision, login-request.')),
    code: nullable(string('The stable error code of a refusal.')),
    detail: { type: 'object', description: 'Anything else worth keeping; never a secret or a token.' },
  }),

  AuditPage: object({
    events: { type: 'array', items: ref('AuditEvent'), maxItems: AUDIT_PAGE_MAX },
    next: nullable({ type: 'integer', description: 'Pass as `after` for the next page; null on the last one.' }),
  }),

  LoginRequestCreated: object({
    loginUrl: string('Send the user\'s browser here.', { format: 'uri' }),
    token: string('Comes back to postLoginURL once the user has logged in; read the details with it.'),
    expiresAt: time('After this the request is gone.'),
  }),

  LoginRequestInfo: object({
    origin: string('The origin of the app\'s postLoginURL, shown to the user.'),
    requiredRoles: roles,
    requireAllRoles: { type: 'boolean' },
    expiresAt: time('After this the request is gone.'),
  }),

  LoginRequestCompleted: object({ redirect: string('postLoginURL with the token in place of `{token}`.', { format: 'uri' }) }),

  LoginDetails: object({
    userId: string(),
    username: nullable(string()),
    publicKeys: { type: 'array', items: string() },
    roles,
    superUser: { type: 'boolean' },
    request: {
      type: 'object',
      description: 'The login request as the app sent it, extra fields included.',
      properties: { postLoginURL: string(), requiredRoles: roles, requireAllRoles: { type: 'boolean' } },
      required: ['postLoginURL', 'requiredRoles', 'requireAllRoles'],
    },
    isDuplicateRequest: { type: 'boolean', description: 'true when the details were read before (allowDuplicateRequest=true).' },
  }),

  // Request bodies.
  Credentials: object({
    username: string(undefined, { maxLength: USERNAME_INPUT_MAX }),
    password: string(undefined, { maxLength: PASSWORD_MAX }),
  }),
  PasswordLogin: object({
    username: string(undefined, { maxLength: USERNAME_INPUT_MAX }),
    password: string(undefined, { maxLength: PASSWORD_MAX }),
    scope: string('Space-separated roles wanted; at most the account\'s roles.'),
  }, ['username', 'password']),
  RefreshRequest: object({ refreshToken: string() }),
  TokenRequest: object({
    token: string(undefined, { maxLength: TOKEN_MAX }),
    token_type_hint: string('RFC 7662 / RFC 7009: access_token or refresh_token; read as a hint only.'),
  }, ['token']),
  ProvisionRequest: object({
    user: string('Your id of the user: its account is created when missing.'),
    resources: { type: 'array', items: ref('Resource'), maxItems: RESOURCES_MAX },
    ttl: { type: 'integer', minimum: 1, description: 'Seconds; may only shorten PROVISION_TTL.' },
  }, ['user']),
  AccountCreate: object({
    id: string('1 to 128 of letters, digits and . _ ~ : @ + = | -; a public key links that key.'),
    username: string(undefined, { maxLength: USERNAME_INPUT_MAX }),
    password: string(undefined, { maxLength: PASSWORD_MAX }),
    roles,
  }, []),
  AccountChange: object({ roles, disabled: { type: 'boolean' } }, []),
  ChallengeRequest: object({ pubkey: string('An Ed25519 identity string.'), scope: string() }, ['pubkey']),
  ChallengeAnswer: object({ sig: bufferJson(64, 'The Ed25519 signature of the challenge.') }),
  KeyChallengeRequest: object({ pubkey: string('The key to link.') }),
  KeyLink: object({ pubkey: string('The key to link.'), sig: bufferJson(64, 'The key\'s signature of the link challenge.') }),
  LoginRequestCreate: {
    type: 'object',
    properties: {
      postLoginURL: string('Where the browser goes after the login: http(s), with `{token}` after the origin; the origin must be in LOGIN_REDIRECT_ORIGINS.', { maxLength: POST_LOGIN_URL_MAX }),
      requiredRoles: roles,
      requireAllRoles: { type: 'boolean', description: 'All of requiredRoles rather than any.' },
    },
    required: ['postLoginURL'],
    description: 'Other fields are kept (up to 4 KiB of JSON) and handed back with the details.',
  },
};
