import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createAPISig, PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TestClock, type TestKeygate } from './helpers/keygate.js';
import { basic, bearer, client, type ApiClient } from './helpers/http.js';

const PASSWORD = 'correct horse battery';
let seq = 0;
const uniqueName = (base = 'user') => `${base}${++seq}_${Date.now().toString(36)}`;

describe('HTTP password users and the token lifecycle', () => {
  let kg: TestKeygate;
  let api: ApiClient;
  const clock = new TestClock();
  before(async () => {
    kg = await startTestKeygate({ TOKEN_TTL: '600' }, undefined, { now: clock.now });
    api = client(kg.url);
  });
  after(() => kg.stop());

  async function registerAndLogin(username = uniqueName()) {
    const reg = await api.post('/api/users', { username, password: PASSWORD });
    expect(reg.status).to.equal(201);
    const res = await api.post('/api/login', { username, password: PASSWORD });
    expect(res.status).to.equal(200);
    return { username, userId: reg.body.userId as string, ...res.body };
  }

  describe('POST /api/users', () => {
    it('creates a user: 201 {userId}', async () => {
      const res = await api.post('/api/users', { username: uniqueName(), password: PASSWORD });
      expect(res.status).to.equal(201);
      expect(Object.keys(res.body)).to.deep.equal(['userId']);
      expect(res.body.userId).to.match(/^[0-9a-f-]{36}$/);
    });

    it('answers an existing username with 409 duplicate_entity, after NFKC and lower-casing', async () => {
      const name = uniqueName('Ｄｕｐ'); // full-width letters fold to "dup" under NFKC
      expect((await api.post('/api/users', { username: name, password: PASSWORD })).status).to.equal(201);
      const again = await api.post('/api/users', { username: name.normalize('NFKC').toUpperCase(), password: 'another password' });
      expect(again.status).to.equal(409);
      expect(again.body).to.deep.equal({ error: 'duplicate_entity', message: 'That username is taken.' });
    });

    it('lets exactly one of concurrent registrations of a name win', async () => {
      const name = uniqueName();
      const results = await Promise.all([1, 2, 3].map(() => api.post('/api/users', { username: name, password: PASSWORD })));
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409, 409]);
    });

    for (const [body, message] of [
      [{ username: 'ab', password: PASSWORD }, 'username must be 3 to 64 characters long.'],
      [{ username: 'x'.repeat(65), password: PASSWORD }, 'username must be 3 to 64 characters long.'],
      [{ username: 'has space', password: PASSWORD }, 'username may contain only letters, digits and . _ @ + -'],
      [{ username: 'ok_name', password: 'short' }, 'password must be 8 to 1024 characters long.'],
      [{ username: 'ok_name', password: 'p'.repeat(1025) }, 'password must be 8 to 1024 characters long.'],
      [{ username: 42, password: PASSWORD }, 'username must be a string.'],
      [{ username: 'ok_name', password: 12345678 }, 'password must be a string.'],
      [{ username: 'ok_name' }, 'password must be a string.'],
      [[1, 2], 'Send a JSON object body with Content-Type: application/json.'],
    ] as const) {
      it(`refuses ${JSON.stringify(body).slice(0, 60)} with 400`, async () => {
        const res = await api.post('/api/users', body);
        expect(res.status).to.equal(400);
        expect(res.body).to.deep.equal({ error: 'invalid_request', message });
      });
    }
  });

  describe('POST /api/login', () => {
    it('answers {userId, userAuth, refreshToken, expiresAt}; the JWT sub is the userId', async () => {
      const { userId, userAuth, refreshToken, expiresAt } = await registerAndLogin();
      expect(refreshToken).to.match(/^rt_[\w-]{43}$/);
      expect(Object.keys(userAuth).sort()).to.deep.equal(['key', 'msg', 'sig', 'token']);
      expect(userAuth.key).to.equal(TEST_API_KEY);
      expect(userAuth.msg).to.equal(expiresAt);
      expect(userAuth.sig).to.equal((await createAPISig(TEST_API_SECRET, new Date(userAuth.msg))).sig);
      const { payload } = await jwtVerify(userAuth.token, createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`)));
      expect(payload).to.include({ sub: userId, iss: 'keygate' });
      expect(payload.amr).to.deep.equal(['pwd']);
      expect(payload.sid).to.be.a('string');
    });

    it('refuses unknown user, wrong password and disabled user with the same 401 body', async () => {
      const { username, userId } = await registerAndLogin();
      const unknown = await api.post('/api/login', { username: uniqueName('ghost'), password: PASSWORD });
      const wrong = await api.post('/api/login', { username, password: 'not the password' });
      await kg.core.store.updateAccount(userId, { disabled: true });
      const disabled = await api.post('/api/login', { username, password: PASSWORD });
      for (const res of [unknown, wrong, disabled]) {
        expect(res.status).to.equal(401);
        expect(res.body).to.deep.equal({ error: 'invalid_credentials', message: 'Invalid username or password.' });
      }
    });

    it('refuses bad input with 400, never 5xx', async () => {
      expect((await api.post('/api/login', { username: 'a' })).status).to.equal(400);
      expect((await api.post('/api/login', { username: ['a'], password: PASSWORD })).body.error).to.equal('invalid_request');
      expect((await api.post('/api/login', undefined, { raw: '{"username": "a", ', headers: { 'content-type': 'application/json' } })).body)
        .to.deep.equal({ error: 'invalid_request', message: 'The request body is not valid JSON.' });
      expect((await api.post('/api/login', undefined, { raw: 'username=a', headers: { 'content-type': 'text/plain' } })).body)
        .to.deep.equal({ error: 'unsupported_media_type', message: 'Send the body as application/json.' });
      const json = { 'content-type': 'application/json' };
      const encoded = await api.post('/api/login', undefined, { raw: '{}', headers: { ...json, 'content-encoding': 'compress' } });
      expect([encoded.status, encoded.body.error]).to.deep.equal([415, 'unsupported_media_type']);
      expect((await api.post('/api/login', undefined, { raw: '{}', headers: { ...json, 'content-encoding': 'gzip' } })).body)
        .to.deep.equal({ error: 'invalid_request', message: 'The request body could not be decompressed as its Content-Encoding says.' });
      expect((await api.post('/api/login', undefined, { raw: '{"__proto__": {"admin": true}}', headers: json })).body)
        .to.deep.equal({ error: 'invalid_request', message: 'The request body must not hold a __proto__ key.' });
    });
  });

  describe('POST /api/refresh', () => {
    it('rotates: a new userAuth and a new refresh token, for the same session', async () => {
      const first = await registerAndLogin();
      const res = await api.post('/api/refresh', { refreshToken: first.refreshToken });
      expect(res.status).to.equal(200);
      expect(res.body.userId).to.equal(first.userId);
      expect(res.body.refreshToken).not.to.equal(first.refreshToken);
      const jwks = createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`));
      const a = (await jwtVerify(first.userAuth.token, jwks)).payload;
      const b = (await jwtVerify(res.body.userAuth.token, jwks)).payload;
      expect(b.sid).to.equal(a.sid);
      expect(b.jti).not.to.equal(a.jti);
      const next = await api.post('/api/refresh', { refreshToken: res.body.refreshToken });
      expect(next.status).to.equal(200);
    });

    it('detects reuse: an already-used refresh token revokes every token of that login', async () => {
      const first = await registerAndLogin();
      const second = (await api.post('/api/refresh', { refreshToken: first.refreshToken })).body;
      clock.advance(5001); // past REFRESH_REUSE_INTERVAL_MS
      const reuse = await api.post('/api/refresh', { refreshToken: first.refreshToken });
      expect(reuse.status).to.equal(401);
      expect(reuse.body).to.deep.equal({ error: 'invalid_token', message: 'The refresh token was already used; every token of its login is now revoked.' });
      // The legitimate successor and every access token of the login are dead too.
      expect((await api.post('/api/refresh', { refreshToken: second.refreshToken })).status).to.equal(401);
      for (const token of [first.userAuth.token, second.userAuth.token]) {
        expect((await api.post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body).to.deep.equal({ active: false });
      }
      // Another login of the same user is unaffected.
      const other = await api.post('/api/login', { username: first.username, password: PASSWORD });
      expect((await api.post('/api/refresh', { refreshToken: other.body.refreshToken })).status).to.equal(200);
    });

    it('refuses unknown, malformed and missing refresh tokens', async () => {
      expect((await api.post('/api/refresh', { refreshToken: 'rt_nope' })).body).to.deep.equal({ error: 'invalid_token', message: 'The refresh token is not valid.' });
      expect((await api.post('/api/refresh', { refreshToken: 5 })).body.error).to.equal('invalid_request');
      expect((await api.post('/api/refresh', {})).status).to.equal(400);
    });

    it('refuses a refresh for a disabled user', async () => {
      const first = await registerAndLogin();
      await kg.core.store.updateAccount(first.userId, { disabled: true });
      const res = await api.post('/api/refresh', { refreshToken: first.refreshToken });
      expect(res.status).to.equal(401);
      expect(res.body.error).to.equal('invalid_token');
    });
  });

  describe('POST /api/introspect', () => {
    const auth = { headers: basic(TEST_API_KEY, TEST_API_SECRET) };

    it('describes a live token in the RFC 7662 shape', async () => {
      const { userId, userAuth } = await registerAndLogin();
      const res = await api.post('/api/introspect', { token: userAuth.token }, auth);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ active: true, sub: userId, iss: 'keygate', token_type: 'Bearer' });
      expect(res.body.exp - res.body.iat).to.equal(600);
      expect(res.body.jti).to.be.a('string');
    });

    it('accepts a form-encoded body, as RFC 7662 clients send', async () => {
      const { userAuth } = await registerAndLogin();
      const res = await api.post('/api/introspect', undefined, {
        raw: `token=${encodeURIComponent(userAuth.token)}`,
        headers: { ...auth.headers, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.body.active).to.equal(true);
    });

    it('answers {active:false} for garbage, foreign and expired tokens', async () => {
      const foreign = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
      for (const token of ['garbage', foreign, '', 'a.b.c']) {
        expect((await api.post('/api/introspect', { token }, auth)).body, token).to.deep.equal({ active: false });
      }
      const clock = new TestClock();
      const short = await startTestKeygate({ TOKEN_TTL: '30' }, undefined, { now: clock.now });
      try {
        const auth2 = await keypairLogin(PrivateKey.fromRandom(), short.wsUrl);
        const introspect = async () => (await client(short.url).post('/api/introspect', { token: auth2.token }, auth)).body;
        clock.advance(29_000);
        expect(await introspect(), 'alive before its exp').to.include({ active: true });
        clock.advance(2000);
        const expired = await introspect();
        expect(expired).to.deep.equal({ active: false });
      } finally {
        await short.stop();
      }
    });

    it('answers 401 without the API pair, or with a wrong one', async () => {
      const { userAuth } = await registerAndLogin();
      for (const headers of [{}, basic(TEST_API_KEY, 'bnotthesecretbutlongenoughtodecode'), basic('wrong', TEST_API_SECRET), bearer(userAuth.token)]) {
        const res = await api.post('/api/introspect', { token: userAuth.token }, { headers });
        expect(res.status).to.equal(401);
        expect(res.body.error).to.equal('unauthorized');
      }
    });
  });

  describe('POST /api/logout', () => {
    it('stops a password user\'s access token and refresh chain at once', async () => {
      const { userAuth, refreshToken } = await registerAndLogin();
      const res = await api.post('/api/logout', undefined, { headers: bearer(userAuth.token) });
      expect(res.status).to.equal(204);
      expect((await api.post('/api/introspect', { token: userAuth.token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body).to.deep.equal({ active: false });
      expect((await api.post('/api/refresh', { refreshToken })).status).to.equal(401);
      expect((await api.get('/api/userauth', { headers: bearer(userAuth.token) })).status).to.equal(401);
      expect((await api.post('/api/logout', undefined, { headers: bearer(userAuth.token) })).status).to.equal(401);
    });

    it('stops a keypair user\'s token', async () => {
      const auth = await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl);
      expect((await api.post('/api/introspect', { token: auth.token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body.active).to.equal(true);
      expect((await api.post('/api/logout', undefined, { headers: bearer(auth.token!) })).status).to.equal(204);
      expect((await api.post('/api/introspect', { token: auth.token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body).to.deep.equal({ active: false });
    });

    it('answers 401 without a bearer token', async () => {
      const res = await api.post('/api/logout');
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal({ error: 'unauthorized', message: 'Send Authorization: Bearer <access token>.' });
    });
  });

  describe('GET /api/userauth', () => {
    it('gives the holder of a live token a fresh UserAuth for the same subject', async () => {
      const identity = PrivateKey.fromRandom();
      const auth = await keypairLogin(identity, kg.wsUrl);
      const res = await api.get('/api/userauth', { headers: bearer(auth.token!) });
      expect(res.status).to.equal(200);
      expect(Object.keys(res.body).sort()).to.deep.equal(['key', 'msg', 'sig', 'token']);
      expect(res.body.sig).to.equal((await createAPISig(TEST_API_SECRET, new Date(res.body.msg))).sig);
      const { payload } = await jwtVerify(res.body.token, createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`)));
      expect(payload.sub).to.equal(identity.public.toString());
    });

    it('never hands anything to anonymous callers', async () => {
      expect((await api.get('/api/userauth')).status).to.equal(401);
      expect((await api.get('/api/userauth', { headers: bearer('garbage') })).body.error).to.equal('invalid_token');
    });
  });

  describe('other routes', () => {
    it('GET /healthz', async () => {
      const res = await api.get('/healthz');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ status: 'ok', records: 'ok', state: 'ok' });
    });

    it('answers unknown routes with 404 and wrong methods with 405', async () => {
      expect((await api.get('/api/nothing')).body).to.deep.equal({ error: 'not_found', message: 'No route for GET /api/nothing.' });
      const wrong = await api.get('/api/login');
      expect(wrong.status).to.equal(405);
      expect(wrong.body.error).to.equal('method_not_allowed');
    });
  });
});

describe('REGISTRATION=closed', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ REGISTRATION: 'closed' });
  });
  after(() => kg.stop());

  it('requires HTTP Basic with the API pair to create users', async () => {
    const api = client(kg.url);
    expect((await api.post('/api/users', { username: 'closed_a', password: PASSWORD })).status).to.equal(401);
    expect((await api.post('/api/users', { username: 'closed_a', password: PASSWORD }, { headers: basic(TEST_API_KEY, 'bwrongwrongwrongwrongwrongwrong') })).status).to.equal(401);
    const ok = await api.post('/api/users', { username: 'closed_a', password: PASSWORD }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) });
    expect(ok.status).to.equal(201);
    expect((await api.post('/api/login', { username: 'closed_a', password: PASSWORD })).status).to.equal(200);
  });
});
