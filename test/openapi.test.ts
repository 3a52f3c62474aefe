/**
 * Issue 12 item 3: the OpenAPI 3.1 document. It is a valid OpenAPI 3.1 document (the
 * official schema), served at /openapi.json exactly as kept in docs/openapi.json, names
 * every route the router serves and nothing else, and a tour of every operation sees each
 * success answer validate. (Every other test's responses are checked too, by the root hooks.)
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { PrivateKey } from '@textile/hub';
import { Validator } from '@seriousme/openapi-schema-validator';
import type Router from 'koa-router';
import { loadConfig } from '../src/config.js';
import { httpRouter } from '../src/server/http/routes.js';
import { KEYGATE_VERSION, openApiDocument } from '../src/server/http/openapi/document.js';
import { basic, bearer, type Reply } from './helpers/http.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TEST_SECRETS, TestClock, type TestKeygate } from './helpers/keygate.js';
import { loadOpenApi, OpenApiCheck, OPENAPI_FILE } from './helpers/openapi.js';
import { bufferJson } from './helpers/ws.js';

const API = basic(TEST_API_KEY, TEST_API_SECRET);
const METRICS_TOKEN = 'metrics-token-for-the-openapi-test-0123456789';

/** Koa paths ('/api/accounts/:ref') as OpenAPI templates ('/api/accounts/{ref}'). */
const template = (koaPath: string) => koaPath.replace(/:(\w+)/g, '{$1}');

function servedOperations(router: Router): string[] {
  const out = new Set<string>();
  for (const layer of router.stack) {
    for (const method of layer.methods) if (method !== 'HEAD') out.add(`${method} ${template(layer.path)}`);
  }
  return [...out].sort();
}

function documentedOperations(doc = loadOpenApi()): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)).sort();
}

describe('OpenAPI document', function () {
  this.timeout(60_000);
  let kg: TestKeygate;
  const check = new OpenApiCheck();
  const clock = new TestClock();

  before(async () => {
    kg = await startTestKeygate({ METRICS_TOKEN, RATE_LIMITS: 'off', LOGIN_REDIRECT_ORIGINS: 'https://app.example' }, undefined, { now: clock.now });
  });
  after(() => kg.stop());

  /** Sends a request and checks its answer against the document; returns it. */
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, expected?: number): Promise<Reply> {
    const res = await fetch(kg.url + path, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const problems = check.check({ method, path: path.split('?')[0]!, status: res.status, contentType: res.headers.get('content-type') ?? '', body: text });
    expect(problems, `${method} ${path} is documented`).to.not.equal(undefined);
    expect(problems, `${method} ${path} -> ${res.status}`).to.deep.equal([]);
    if (expected !== undefined) expect(res.status, `${method} ${path}: ${text.slice(0, 200)}`).to.equal(expected);
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  it('is a valid OpenAPI 3.1 document whose schemas all compile (strict JSON Schema 2020-12)', async () => {
    const validator = new Validator();
    const result = await validator.validate(loadOpenApi() as unknown as Record<string, unknown>);
    expect(result.errors ?? [], 'OpenAPI 3.1 errors').to.deep.equal([]);
    expect([result.valid, validator.version]).to.deep.equal([true, '3.1']);
    const broken = { ...loadOpenApi(), paths: { '/healthz': { get: { responsez: {} } } } };
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid, 'the validator catches a broken document').to.equal(false);
    expect(check.compileAll()).to.be.greaterThan(20);
  });

  it('is served at /openapi.json exactly as kept in docs/openapi.json (npm run openapi writes it)', async () => {
    const served = await call('GET', '/openapi.json', undefined, {}, 200);
    expect(served.body).to.deep.equal(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
    expect(served.body).to.deep.equal(openApiDocument());
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(KEYGATE_VERSION, 'info.version is the package version').to.equal(pkg.version);
  });

  it('names every route the router serves, and nothing it does not', () => {
    const config = loadConfig({ ...TEST_SECRETS, DATA_DIR: kg.dataDir, METRICS_TOKEN });
    const served = servedOperations(httpRouter(kg.core, config, kg.metrics));
    expect(served.length).to.be.greaterThan(30);
    expect(documentedOperations()).to.deep.equal(served);
  });

  it('documents every error status with exactly the codes that map to it, and flags what does not match', () => {
    const bad = [
      { method: 'POST', path: '/api/users', status: 201, contentType: 'application/json', body: '{"userId":5}' },
      { method: 'POST', path: '/api/users', status: 418, contentType: 'application/json', body: '{}' },
      { method: 'POST', path: '/api/users', status: 409, contentType: 'application/json', body: '{"error":"rate_limited","message":"x"}' },
      { method: 'GET', path: '/api/me', status: 200, contentType: 'text/html', body: '<p>' },
      { method: 'POST', path: '/api/logout', status: 204, contentType: '', body: 'surprise' },
    ];
    for (const r of bad) expect(check.check(r), JSON.stringify(r)).to.have.length.greaterThan(0);
    expect(check.check({ method: 'GET', path: '/no/such/route', status: 404, contentType: 'application/json', body: '{}' })).to.equal(undefined);
    expect(check.templateOf('/api/me/keys/challenge'), 'a literal path wins over a template').to.equal('/api/me/keys/challenge');
    expect(check.templateOf('/api/me/keys/challenge', 'DELETE'), 'unless only the template has the method').to.equal('/api/me/keys/{pubkey}');
    expect(check.check({ method: 'PUT', path: '/api/login', status: 200, contentType: 'application/json', body: '{}' }), 'an undocumented method answered').to.have.length(1);
    expect(check.check({ method: 'PUT', path: '/api/login', status: 405, contentType: 'application/json', body: '{"error":"method_not_allowed","message":"x"}' })).to.equal(undefined);
  });

  it('a tour of every operation: each success answer (and the usual refusals) validates', async () => {
    // Page, operations, keys.
    for (const path of ['/', '/assets/app.js', '/assets/style.css', '/assets/keygate-client.js', '/favicon.ico', '/healthz', '/.well-known/jwks.json']) await call('GET', path, undefined, {}, 200);
    await call('GET', '/metrics', undefined, bearer(METRICS_TOKEN), 200);
    await call('GET', '/metrics', undefined, {}, 401);

    // Password users and the token lifecycle.
    await call('POST', '/api/users', { username: 'tourist', password: 'tourist password' }, {}, 201);
    await call('POST', '/api/users', { username: 'tourist', password: 'tourist password' }, {}, 409);
    await call('POST', '/api/users', { username: 'x' }, {}, 400);
    const login = await call('POST', '/api/login', { username: 'tourist', password: 'tourist password' }, {}, 200);
    await call('POST', '/api/login', { username: 'tourist', password: 'wrong password' }, {}, 401);
    const { userAuth, refreshToken } = login.body as { userAuth: { token: string }; refreshToken: string };
    await call('POST', '/api/introspect', { token: userAuth.token }, API, 200);
    await call('POST', '/api/introspect', { token: 'nonsense' }, API, 200);
    await call('POST', '/api/introspect', { token: userAuth.token }, {}, 401);
    await call('GET', '/api/userauth', undefined, bearer(userAuth.token), 200);
    await call('GET', '/api/me', undefined, bearer(userAuth.token), 200);
    const refreshed = await call('POST', '/api/refresh', { refreshToken }, {}, 200);
    const fresh = (refreshed.body as { userAuth: { token: string } }).userAuth.token;

    // Linking a key to the account, then unlinking it.
    const identity = PrivateKey.fromRandom();
    const pubkey = identity.public.toString();
    const again = await call('POST', '/api/login', { username: 'tourist', password: 'tourist password' }, {}, 200);
    const token = (again.body as { userAuth: { token: string } }).userAuth.token;
    const linkChallenge = await call('POST', '/api/me/keys/challenge', { pubkey }, bearer(token), 201);
    const linkValue = Uint8Array.from((linkChallenge.body as { value: { data: number[] } }).value.data);
    await call('POST', '/api/me/keys', { pubkey, sig: bufferJson(await identity.sign(linkValue)) }, bearer(token), 201);
    await call('DELETE', `/api/me/keys/${pubkey}`, undefined, bearer(token), 200);
    await call('DELETE', `/api/me/keys/${pubkey}`, undefined, bearer(token), 404);

    // Keypair login over HTTP.
    const challenge = await call('POST', '/api/challenges', { pubkey }, {}, 201);
    const { id, value } = challenge.body as { id: string; value: { data: number[] } };
    await call('POST', `/api/challenges/${id}`, { sig: bufferJson(await identity.sign(Uint8Array.from(value.data))) }, {}, 200);
    await call('POST', `/api/challenges/${id}`, { sig: bufferJson(new Uint8Array(64)) }, {}, 400);
    await call('POST', '/api/challenges', { pubkey: 'nonsense' }, {}, 400);

    // App backends: accounts, provisioning, hosted login requests.
    await call('POST', '/api/accounts', { id: 'app-user-1', roles: ['reader'] }, API, 201);
    await call('POST', '/api/accounts', { id: 'app-user-1' }, API, 409);
    await call('GET', '/api/accounts?limit=10', undefined, API, 200);
    await call('GET', '/api/accounts/app-user-1', undefined, API, 200);
    await call('GET', '/api/accounts/nobody', undefined, API, 404);
    await call('PATCH', '/api/accounts/app-user-1', { roles: ['reader', 'writer'] }, API, 200);
    await call('POST', '/api/provision', { user: 'app-user-1', resources: [{ object: 'room', reference: 'r1', permission: 'join' }] }, API, 200);
    await call('POST', '/api/provision', { user: 'app-user-1', resources: 'all' }, API, 400);
    await call('DELETE', '/api/accounts/app-user-1', undefined, API, 204);

    clock.advance(2000); // the request is 2 s younger than the tour's first login
    const created = await call('POST', '/api/login-requests', { postLoginURL: 'https://app.example/back?t={token}', requiredRoles: [], note: 'kept' }, API, 201);
    const { loginUrl, token: requestToken } = created.body as { loginUrl: string; token: string };
    const pageId = new URL(loginUrl).searchParams.get('loginRequest')!;
    await call('GET', `/api/login-requests/${pageId}/info`, undefined, {}, 200);
    await call('GET', `/api/login-requests/${requestToken}`, undefined, API, 409);
    // Only a login made for the request completes it, not `fresh`'s older one.
    const made = await call('POST', '/api/login', { username: 'tourist', password: 'tourist password' }, {}, 200);
    const madeToken = (made.body as { userAuth: { token: string } }).userAuth.token;
    await call('POST', `/api/login-requests/${pageId}/complete`, undefined, bearer(fresh), 403);
    await call('POST', `/api/login-requests/${pageId}/complete`, undefined, bearer(madeToken), 200);
    await call('POST', `/api/login-requests/${pageId}/complete`, undefined, bearer(madeToken), 409);
    await call('GET', `/api/login-requests/${requestToken}`, undefined, API, 200);
    await call('GET', `/api/login-requests/${requestToken}`, undefined, API, 410);
    await call('GET', `/api/login-requests/${requestToken}?allowDuplicateRequest=true`, undefined, API, 200);

    // The end of the lifecycle, and the audit log of it all.
    await call('POST', '/api/revoke', { token: fresh }, {}, 200);
    await call('POST', '/api/logout', undefined, bearer(token), 204);
    await call('POST', '/api/logout', undefined, bearer(token), 401);
    await kg.core.audit.flush();
    const audit = await call('GET', '/api/audit?limit=5', undefined, API, 200);
    expect((audit.body as { events: unknown[] }).events).to.have.length(5);
    await call('GET', '/api/audit?since=yesterday', undefined, API, 400);

    // Every documented operation answered with its documented success status.
    const doc = loadOpenApi();
    const missing: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const success = Object.keys(op.responses).find((s) => s.startsWith('2'))!;
        if (!check.seen.get(op.operationId)?.has(Number(success))) missing.push(`${method.toUpperCase()} ${path} ${success}`);
      }
    }
    expect(missing, 'operations the tour did not see succeed').to.deep.equal([]);
  });
});
