/**
 * The OpenAPI 3.1 document of every HTTP route, served at /openapi.json and kept in the
 * repository as docs/openapi.json (`npm run openapi` writes it; a test checks both match).
 * Each error status is documented with exactly the stable codes HTTP_STATUS maps onto it.
 */
import { ERROR_CODES } from '../../../errors.js';
import { HTTP_STATUS } from '../error-status.js';
import { object, ref, SCHEMAS, type Schema } from './schemas.js';

export const KEYGATE_VERSION = '0.1.0';

type Status = (typeof HTTP_STATUS)[keyof typeof HTTP_STATUS];
type Security = 'apiPair' | 'bearer';

interface Operation {
  summary: string;
  tag: string;
  security?: Security;
  body?: { schema: string; form?: boolean };
  query?: Array<{ name: string; description: string; schema: Schema }>;
  /** The success status and its JSON schema (none: no body). */
  ok: [number, string | undefined];
  /** The error statuses the route can answer besides the ones every route can (500, 503). */
  errors: Status[];
}

const JSON_TYPE = 'application/json';
/** Statuses of refusals that every route can give: a fault, overload, a store away, shutting down. */
const ALWAYS: Status[] = [500, 503];
/** Statuses of routes that read a body. */
const BODY: Status[] = [400, 413, 415];

const errorResponseName = (status: number) => `Error${status}`;

function errorResponses(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const status of [...new Set(Object.values(HTTP_STATUS))].sort()) {
    const codes = ERROR_CODES.filter((c) => HTTP_STATUS[c] === status);
    const retry = status === 429 || status === 503;
    out[errorResponseName(status)] = {
      description: `Refused: ${codes.join(', ')}.`,
      ...(retry ? { headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } } } } : {}),
      content: {
        [JSON_TYPE]: {
          schema: {
            type: 'object',
            properties: { error: { enum: codes }, message: { type: 'string' } },
            required: ['error', 'message'],
            additionalProperties: { type: 'string' },
            description: 'A stable error code, a message for people, and any details (such as the `id` of a duplicate).',
          },
        },
      },
    };
  }
  return out;
}

const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const limitParam = (max: number) => ({ name: 'limit', description: `Page size, 1 to ${max}.`, schema: { type: 'integer', minimum: 1, maximum: max } });

function operation(id: string, op: Operation, params: unknown[] = []): Record<string, unknown> {
  const [okStatus, okSchema] = op.ok;
  const responses: Record<string, unknown> = {
    [okStatus]: okSchema === undefined ? { description: 'Done; no body.' } : { description: 'Success.', content: { [JSON_TYPE]: { schema: ref(okSchema) } } },
  };
  const errors = [...new Set([...op.errors, ...(op.body ? BODY : []), ...(op.security ? [401 as const] : []), ...ALWAYS])].sort();
  for (const status of errors) responses[status] = { $ref: `#/components/responses/${errorResponseName(status)}` };
  const parameters = [...params, ...(op.query ?? []).map((q) => ({ ...q, in: 'query', required: false }))];
  return {
    operationId: id,
    summary: op.summary,
    tags: [op.tag],
    ...(op.security ? { security: [{ [op.security]: [] }] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? {
        requestBody: {
          required: true,
          content: {
            [JSON_TYPE]: { schema: ref(op.body.schema) },
            ...(op.body.form ? { 'application/x-www-form-urlencoded': { schema: ref(op.body.schema) } } : {}),
          },
        },
      }
      : {}),
    responses,
  };
}

const text = (type: string, description: string) => ({ description, content: { [type]: { schema: { type: 'string' } } } });

/** The page and its assets: built into dist/ by `npm run build`; 404 not_found when not built; 400 for a Host header that is not a plain host[:port] (without PUBLIC_URL). */
function pageOperation(id: string, type: string, summary: string, errors: Status[] = [400, 404]) {
  const responses: Record<string, unknown> = { 200: text(type, summary) };
  for (const status of [...errors, ...ALWAYS].sort()) responses[status] = { $ref: `#/components/responses/${errorResponseName(status)}` };
  return { get: { operationId: id, summary, tags: ['page'], responses } };
}

function paths(): Record<string, unknown> {
  const ref_ = pathParam('ref', 'An account id or public key (GET also takes a username).');
  return {
    '/.well-known/jwks.json': { get: operation('getJwks', { summary: 'The public signing keys (JWKS).', tag: 'tokens', ok: [200, 'Jwks'], errors: [] }) },
    '/healthz': {
      get: {
        operationId: 'getHealth',
        summary: 'Each dependency: ok or unavailable. 503 when the record store is away.',
        tags: ['operations'],
        responses: {
          200: { description: 'Serving (`degraded` when only the state store is away).', content: { [JSON_TYPE]: { schema: ref('Health') } } },
          503: { description: 'The record store is away: nothing can be checked.', headers: { 'Retry-After': { schema: { type: 'integer', minimum: 1 } } }, content: { [JSON_TYPE]: { schema: ref('Health') } } },
          500: { $ref: `#/components/responses/${errorResponseName(500)}` },
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics: on this port with Bearer METRICS_TOKEN (only when set), or without a token on METRICS_PORT.',
        tags: ['operations'],
        security: [{ metricsToken: [] }],
        responses: {
          200: text('text/plain', 'The Prometheus text format (version 0.0.4).'),
          401: { $ref: `#/components/responses/${errorResponseName(401)}` },
          404: { $ref: `#/components/responses/${errorResponseName(404)}`, description: 'Not served on this port: METRICS_TOKEN is unset.' },
          500: { $ref: `#/components/responses/${errorResponseName(500)}` },
          503: { $ref: `#/components/responses/${errorResponseName(503)}` },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document.',
        tags: ['operations'],
        responses: { 200: { description: 'OpenAPI 3.1.', content: { [JSON_TYPE]: { schema: { type: 'object' } } } }, 500: { $ref: `#/components/responses/${errorResponseName(500)}` } },
      },
    },
    '/': pageOperation('getPage', 'text/html', 'The login page (keypair and password, and hosted login requests).'),
    '/assets/app.js': pageOperation('getPageScript', 'text/javascript', 'The page\'s script.'),
    '/assets/style.css': pageOperation('getPageStyle', 'text/css', 'The page\'s style sheet.'),
    '/assets/keygate-client.js': pageOperation('getBrowserClient', 'text/javascript', 'The browser client (ES module).'),
    '/favicon.ico': pageOperation('getIcon', 'image/svg+xml', 'The icon.'),

    '/api/users': { post: { ...operation('registerUser', { summary: 'Register a password user (HTTP Basic when REGISTRATION=closed).', tag: 'password users', body: { schema: 'Credentials' }, ok: [201, 'UserCreated'], errors: [401, 409, 429] }), security: [{}, { apiPair: [] }] } },
    '/api/login': { post: operation('passwordLogin', { summary: 'Log in with a password: an access token and a refresh token.', tag: 'password users', body: { schema: 'PasswordLogin' }, ok: [200, 'SessionGrant'], errors: [401, 403, 429] }) },
    '/api/refresh': { post: operation('refresh', { summary: 'Exchange a refresh token (single use) for a new access token and its successor.', tag: 'tokens', body: { schema: 'RefreshRequest' }, ok: [200, 'SessionGrant'], errors: [401, 403, 429] }) },
    '/api/logout': { post: operation('logout', { summary: 'End the Bearer token\'s whole login session.', tag: 'tokens', security: 'bearer', ok: [204, undefined], errors: [429] }) },
    '/api/revoke': { post: operation('revoke', { summary: 'RFC 7009: revoke a token held (access or refresh); any string answers {}.', tag: 'tokens', body: { schema: 'TokenRequest' }, ok: [200, 'Empty'], errors: [429] }) },
    '/api/introspect': { post: operation('introspect', { summary: 'RFC 7662 introspection (JSON or form body).', tag: 'tokens', security: 'apiPair', body: { schema: 'TokenRequest', form: true }, ok: [200, 'Introspection'], errors: [] }) },
    '/api/userauth': { get: operation('reissueUserAuth', { summary: 'A fresh UserAuth in the Bearer token\'s login session.', tag: 'tokens', security: 'bearer', ok: [200, 'UserAuth'], errors: [429] }) },
    '/api/provision': { post: operation('provision', { summary: 'A resource-scoped token for an app\'s user (an auth webhook).', tag: 'app backends', security: 'apiPair', body: { schema: 'ProvisionRequest' }, ok: [200, 'Provisioned'], errors: [403] }) },
    '/api/audit': {
      get: operation('readAudit', {
        summary: 'Audit events, oldest first, a page at a time.', tag: 'operations', security: 'apiPair', ok: [200, 'AuditPage'], errors: [400],
        query: [
          { name: 'subject', description: 'Only events about this account or key.', schema: { type: 'string', maxLength: 256 } },
          { name: 'type', description: 'Only events of this type.', schema: { type: 'string', maxLength: 256 } },
          { name: 'since', description: 'Only events at or after this time.', schema: { type: 'string', format: 'date-time' } },
          { name: 'after', description: '`next` of the previous page.', schema: { type: 'integer', minimum: 0 } },
          limitParam(1000),
        ],
      }),
    },

    '/api/accounts': {
      post: operation('createAccount', { summary: 'Create an account (an id, a username and password, roles; an id that is a public key links it).', tag: 'accounts', security: 'apiPair', body: { schema: 'AccountCreate' }, ok: [201, 'AccountCreated'], errors: [409] }),
      get: operation('listAccounts', {
        summary: 'List accounts.', tag: 'accounts', security: 'apiPair', ok: [200, 'AccountPage'], errors: [400],
        query: [
          { name: 'offset', description: 'Accounts to skip.', schema: { type: 'integer', minimum: 0 } },
          limitParam(500),
          { name: 'query', description: 'Only ids or usernames starting with this.', schema: { type: 'string', maxLength: 256 } },
        ],
      }),
    },
    '/api/accounts/{ref}': {
      get: operation('getAccount', { summary: 'One account, by id, public key or username.', tag: 'accounts', security: 'apiPair', ok: [200, 'Account'], errors: [404] }, [ref_]),
      patch: operation('changeAccount', { summary: 'Change roles, or disable (which revokes every token at once) and enable.', tag: 'accounts', security: 'apiPair', body: { schema: 'AccountChange' }, ok: [200, 'Account'], errors: [404] }, [ref_]),
      delete: operation('deleteAccount', { summary: 'Delete an account; its tokens and its keys\' tokens are revoked.', tag: 'accounts', security: 'apiPair', ok: [204, undefined], errors: [404] }, [ref_]),
    },

    '/api/me': { get: operation('getMe', { summary: 'The Bearer token\'s account.', tag: 'accounts', security: 'bearer', ok: [200, 'Account'], errors: [404] }) },
    '/api/me/keys/challenge': { post: operation('keyLinkChallenge', { summary: 'A challenge for linking a key to the Bearer token\'s account.', tag: 'accounts', security: 'bearer', body: { schema: 'KeyChallengeRequest' }, ok: [201, 'LinkChallenge'], errors: [403, 404, 409, 429] }) },
    '/api/me/keys': { post: operation('linkKey', { summary: 'Link a key: its signature of the link challenge.', tag: 'accounts', security: 'bearer', body: { schema: 'KeyLink' }, ok: [201, 'Account'], errors: [401, 403, 404, 409, 429] }) },
    '/api/me/keys/{pubkey}': { delete: operation('unlinkKey', { summary: 'Unlink a key; its tokens are revoked. Never the last way to log in.', tag: 'accounts', security: 'bearer', ok: [200, 'Account'], errors: [400, 403, 404, 409, 429] }, [pathParam('pubkey', 'The key to unlink.')]) },

    '/api/challenges': { post: operation('issueChallenge', { summary: 'Keypair login over HTTP, step 1: a challenge for a key.', tag: 'keypair users', body: { schema: 'ChallengeRequest' }, ok: [201, 'Challenge'], errors: [403, 429] }) },
    '/api/challenges/{id}': { post: operation('answerChallenge', { summary: 'Keypair login over HTTP, step 2: the signature; a UserAuth as the websocket gives.', tag: 'keypair users', body: { schema: 'ChallengeAnswer' }, ok: [200, 'UserAuth'], errors: [401, 403] }, [pathParam('id', 'The challenge id.')]) },

    '/api/login-requests': { post: operation('createLoginRequest', { summary: 'Send a user through keygate\'s page; the result comes back once.', tag: 'app backends', security: 'apiPair', body: { schema: 'LoginRequestCreate' }, ok: [201, 'LoginRequestCreated'], errors: [] }) },
    '/api/login-requests/{pageId}/info': { get: operation('describeLoginRequest', { summary: 'What the page shows about a login request.', tag: 'app backends', ok: [200, 'LoginRequestInfo'], errors: [404] }, [pathParam('pageId', 'The id in loginUrl.')]) },
    '/api/login-requests/{pageId}/complete': { post: operation('completeLoginRequest', { summary: 'The page completes the request with the user\'s Bearer token (once; roles checked).', tag: 'app backends', security: 'bearer', ok: [200, 'LoginRequestCompleted'], errors: [403, 404, 409] }, [pathParam('pageId', 'The id in loginUrl.')]) },
    '/api/login-requests/{token}': {
      get: operation('readLoginDetails', {
        summary: 'The app reads who logged in, once (again only with allowDuplicateRequest=true).', tag: 'app backends', security: 'apiPair', ok: [200, 'LoginDetails'], errors: [400, 403, 404, 409, 410],
        query: [{ name: 'allowDuplicateRequest', description: 'true to read the details again.', schema: { enum: ['true', 'false'] } }],
      }, [pathParam('token', 'The token from the create answer, as it came back to postLoginURL.')]),
    },
  };
}

/** A state-changing request from an Origin not in ALLOWED_ORIGINS (when that is set) is refused with 403 before any work. */
function withOriginCheck(items: Record<string, unknown>): Record<string, unknown> {
  for (const item of Object.values(items) as Array<Record<string, { responses: Record<string, unknown> }>>) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'get' || op.responses['403']) continue;
      op.responses = Object.fromEntries(Object.entries({ ...op.responses, 403: { $ref: `#/components/responses/${errorResponseName(403)}` } }).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  return items;
}

/** The whole document. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'keygate',
      version: KEYGATE_VERSION,
      summary: 'A self-hosted token server for Textile-style Ed25519 identities, password users and app backends.',
      description: 'Keypair users log in over the websocket /ws/userauth (Textile\'s wire protocol, not described here) or over HTTP challenges; password users over /api/login. Tokens are EdDSA JWTs in a Hub-style UserAuth. Errors answer `{error, message}` with a stable code.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: ['keypair users', 'password users', 'tokens', 'accounts', 'app backends', 'operations', 'page'].map((name) => ({ name })),
    paths: withOriginCheck(paths()),
    components: {
      schemas: {
        ...SCHEMAS,
        Empty: object({}),
        UserCreated: object({ userId: { type: 'string' } }),
        AccountCreated: object({ id: { type: 'string' } }),
      },
      responses: errorResponses(),
      securitySchemes: {
        apiPair: { type: 'http', scheme: 'basic', description: 'USER_API_KEY:USER_API_SECRET.' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token of this server.' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN.' },
      },
    },
  };
}
