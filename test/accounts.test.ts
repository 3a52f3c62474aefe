/**
 * Issue 10: every identity is an account with roles; the server-to-server account API,
 * key linking, disabled accounts, and Room Service style provisioning. Every route and
 * status runs on SQLite and on PostgreSQL.
 */
import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { KeygateAdmin, KeygateError } from '../src/client/admin.js';
import { login as keypairLogin, LoginError } from '../src/client/index.js';
import { LAST_LOGIN_PRECISION_MS } from '../src/core/accounts.js';
import { LOGIN_STAMP_FLUSH_MS } from '../src/core/login-stamps.js';
import { freshDatabase, postgres, requireEngine } from './helpers/engines.js';
import { within } from './helpers/poll.js';
import { basic, bearer, client, type ApiClient } from './helpers/http.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TestClock, type TestKeygate } from './helpers/keygate.js';
import { bufferJson, TestSocket } from './helpers/ws.js';

const API = basic(TEST_API_KEY, TEST_API_SECRET);
const PASSWORD = 'correct horse battery staple';

interface Backend {
  name: string;
  env(): Promise<Record<string, string>>;
}

const BACKENDS: Backend[] = [
  { name: 'SQLite', env: async () => ({}) },
  { name: 'PostgreSQL', env: async () => ({ DATABASE_URL: await freshDatabase() }) },
];

/** Signs a link challenge with an identity, as the page does. */
async function linkKey(api: ApiClient, token: string, identity: PrivateKey) {
  const pubkey = identity.public.toString();
  const challenge = await api.post('/api/me/keys/challenge', { pubkey }, { headers: bearer(token) });
  expect(challenge.status, JSON.stringify(challenge.body)).to.equal(201);
  const sig = await identity.sign(Uint8Array.from(challenge.body.value.data as number[]));
  return api.post('/api/me/keys', { pubkey, sig: bufferJson(sig) }, { headers: bearer(token) });
}

for (const backend of BACKENDS) {
  describe(`accounts and provisioning on ${backend.name}`, function () {
    this.timeout(60_000);
    let kg: TestKeygate;
    let api: ApiClient;
    let admin: KeygateAdmin;
    const clock = new TestClock();

    before(async function () {
      if (backend.name === 'PostgreSQL') await requireEngine(this, postgres);
      kg = await startTestKeygate({ ...(await backend.env()), RATE_LIMITS: 'off', REVOCATION_CACHE_MS: '0' }, undefined, { now: clock.now });
      api = client(kg.url);
      admin = new KeygateAdmin({ url: kg.url, apiKey: TEST_API_KEY, apiSecret: TEST_API_SECRET });
    });
    after(async () => kg?.stop());

    const introspect = async (token: string) => (await api.post('/api/introspect', { token }, { headers: API })).body;

    describe('the account API', () => {
      it('refuses every route without the API pair (401), or with a wrong one', async () => {
        const wrong = basic(TEST_API_KEY, 'bwrongwrongwrongwrongwrongwrongwrongwrongwrongwrongwrong');
        for (const headers of [{}, wrong, bearer('x')]) {
          for (const [method, path, body] of [
            ['POST', '/api/accounts', { id: 'nope' }], ['GET', '/api/accounts'], ['GET', '/api/accounts/x'],
            ['PATCH', '/api/accounts/x', { disabled: true }], ['DELETE', '/api/accounts/x'], ['POST', '/api/provision', { user: 'x' }],
          ] as const) {
            const reply = await api.request(method, path, body, { headers });
            expect(reply.status, `${method} ${path}`).to.equal(401);
            expect(reply.body.error).to.equal('unauthorized');
          }
        }
        expect((await api.get('/api/accounts/nope', { headers: API })).status).to.equal(404);
      });

      it('creates accounts with get-or-create semantics: 201 {id}, then 409 duplicate_entity with the id', async () => {
        const created = await api.post('/api/accounts', { id: 'user-0001' }, { headers: API });
        expect(created.status).to.equal(201);
        expect(created.body).to.deep.equal({ id: 'user-0001' });
        const again = await api.post('/api/accounts', { id: 'user-0001' }, { headers: API });
        expect(again.status).to.equal(409);
        expect(again.body).to.include({ error: 'duplicate_entity', id: 'user-0001' });

        const named = await api.post('/api/accounts', { username: 'Mitter_John', password: PASSWORD, roles: ['chat'] }, { headers: API });
        expect(named.status).to.equal(201);
        expect(named.body.id).to.match(/^[0-9a-f-]{36}$/);
        const sameName = await api.post('/api/accounts', { id: 'other-id', username: 'mitter_john' }, { headers: API });
        expect(sameName.status).to.equal(409);
        expect(sameName.body.id).to.equal(named.body.id);
        expect((await api.get('/api/accounts/other-id', { headers: API })).status, 'nothing of a refused creation is kept').to.equal(404);

        const loggedIn = await api.post('/api/login', { username: 'mitter_john', password: PASSWORD });
        expect(loggedIn.status).to.equal(200);
        expect(loggedIn.body.userId).to.equal(named.body.id);
        expect((await introspect(loggedIn.body.userAuth.token)).scope).to.equal('chat');

        const empty = await api.post('/api/accounts', {}, { headers: API });
        expect(empty.status).to.equal(201);
        expect(empty.body.id).to.match(/^[0-9a-f-]{36}$/);
      });

      it('answers 400 for malformed accounts and keeps nothing of them', async () => {
        const before = (await api.get('/api/accounts?limit=1', { headers: API })).body.total;
        for (const body of [
          { id: 'has space' }, { id: '' }, { id: 'x'.repeat(129) }, { id: 42 }, { id: 'a/b' },
          { password: PASSWORD }, { username: 'ab' }, { username: 'someone', password: 'short' },
          { roles: 'admin' }, { roles: ['has space'] }, { roles: Array.from({ length: 65 }, (_, i) => `r${i}`) },
          { id: 'fine', colour: 'blue' }, [1, 2], [],
        ]) {
          const reply = await api.post('/api/accounts', body, { headers: API });
          expect(reply.status, JSON.stringify(body)).to.equal(400);
          expect(reply.body.error).to.equal('invalid_request');
        }
        expect((await api.post('/api/accounts', undefined, { headers: { ...API, 'content-type': 'application/json' }, raw: '{"id":' })).status).to.equal(400);
        expect((await api.get('/api/accounts?limit=1', { headers: API })).body.total).to.equal(before);
      });

      it('creates exactly one account for 20 concurrent get-or-create calls of one id', async () => {
        const replies = await Promise.all(Array.from({ length: 20 }, () => api.post('/api/accounts', { id: 'racer-1' }, { headers: API })));
        expect(replies.filter((r) => r.status === 201)).to.have.length(1);
        expect(replies.filter((r) => r.status === 409 && r.body.id === 'racer-1')).to.have.length(19);
        expect((await api.get('/api/accounts?query=racer-', { headers: API })).body.total).to.equal(1);
      });

      it('stamps lastLoginAt without a commit per login: read at once here, in the store within LOGIN_STAMP_FLUSH_MS, never moved within LAST_LOGIN_PRECISION_MS', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        await keypairLogin(identity, kg.wsUrl); // makes the account
        await kg.core.accounts.flushLogins();
        clock.advance(LAST_LOGIN_PRECISION_MS);
        await keypairLogin(identity, kg.wsUrl); // a returning key: only a stamp, written later
        const first = clock.ms;
        expect((await api.get(`/api/accounts/${pubkey}`, { headers: API })).body.lastLoginAt, 'this instance reads its own stamp').to.equal(new Date(first).toISOString());
        await within(LOGIN_STAMP_FLUSH_MS * 3, 'the stamp reaches the store', async () => (await kg.core.store.getAccount(pubkey))?.lastLoginAt === first);
        clock.advance(LAST_LOGIN_PRECISION_MS - 1000);
        await keypairLogin(identity, kg.wsUrl);
        await kg.core.accounts.flushLogins();
        expect((await kg.core.store.getAccount(pubkey))!.lastLoginAt, 'not moved within the precision').to.equal(first);
        clock.advance(1000);
        await keypairLogin(identity, kg.wsUrl);
        await kg.core.accounts.flushLogins();
        expect((await kg.core.store.getAccount(pubkey))!.lastLoginAt).to.equal(clock.ms);
      });

      it('never puts a deleted account\'s last-login stamp on a new account made with the same id', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        await keypairLogin(identity, kg.wsUrl);
        await kg.core.accounts.flushLogins();
        clock.advance(LAST_LOGIN_PRECISION_MS);
        await keypairLogin(identity, kg.wsUrl); // a stamp queued
        expect((await api.request('DELETE', `/api/accounts/${pubkey}`, undefined, { headers: API })).status).to.equal(204);
        expect((await api.post('/api/accounts', { id: pubkey }, { headers: API })).status).to.equal(201);
        expect((await api.get(`/api/accounts/${pubkey}`, { headers: API })).body.lastLoginAt).to.equal(null);
        await kg.core.accounts.flushLogins();
        expect((await kg.core.store.getAccount(pubkey))!.lastLoginAt).to.equal(null);
      });

      it('shows an account by id, username or public key, and changes its roles and disabled flag', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        await keypairLogin(identity, kg.wsUrl);
        const byKey = await api.get(`/api/accounts/${pubkey}`, { headers: API });
        expect(byKey.status).to.equal(200);
        expect(byKey.body).to.include({ id: pubkey, username: null, disabled: false });
        expect(byKey.body.publicKeys).to.deep.equal([pubkey]);
        expect(byKey.body.createdAt).to.equal(new Date(clock.ms).toISOString());
        expect(byKey.body.lastLoginAt).to.equal(new Date(clock.ms).toISOString());

        const patched = await api.request('PATCH', `/api/accounts/${pubkey}`, { roles: ['editor', 'viewer'] }, { headers: API });
        expect(patched.status).to.equal(200);
        expect(patched.body.roles).to.deep.equal(['editor', 'viewer']);
        for (const body of [{ roles: 'x' }, { disabled: 'yes' }, { username: 'new' }, {}]) {
          expect((await api.request('PATCH', `/api/accounts/${pubkey}`, body, { headers: API })).status, JSON.stringify(body)).to.equal(400);
        }
        expect((await api.request('PATCH', '/api/accounts/nobody-here', { disabled: true }, { headers: API })).status).to.equal(404);

        await api.post('/api/accounts', { id: 'show-me', username: 'show_me_user', password: PASSWORD }, { headers: API });
        const byName = await api.get('/api/accounts/Show_Me_User', { headers: API });
        expect(byName.body).to.include({ id: 'show-me', username: 'show_me_user' });
        expect(byName.body).to.not.have.property('passwordHash');
        expect(JSON.stringify(byName.body)).to.not.include('argon2');
      });

      it('changes and deletes by id or key only: a username that looks like an app\'s user id is never the target', async () => {
        await kg.core.users.register('carol@example.com', PASSWORD);
        const patched = await api.request('PATCH', '/api/accounts/carol@example.com', { roles: ['admin'] }, { headers: API });
        expect([patched.status, patched.body.message]).to.deep.equal([404, 'No account has that id or public key.']);
        expect((await api.request('DELETE', '/api/accounts/carol@example.com', undefined, { headers: API })).status).to.equal(404);
        const shown = await api.get('/api/accounts/carol@example.com', { headers: API });
        expect(shown.body).to.include({ username: 'carol@example.com' });
        expect(shown.body.roles, 'untouched').to.deep.equal([]);
      });

      it('lists accounts by id with offset, limit and query, and refuses bad paging', async () => {
        for (const id of ['list-c', 'list-a', 'list-b']) await api.post('/api/accounts', { id }, { headers: API });
        const page = await api.get('/api/accounts?query=list-&limit=2', { headers: API });
        expect(page.status).to.equal(200);
        expect(page.body.accounts.map((a: { id: string }) => a.id)).to.deep.equal(['list-a', 'list-b']);
        expect(page.body).to.include({ total: 3, offset: 0, limit: 2 });
        const next = await api.get('/api/accounts?query=list-&limit=2&offset=2', { headers: API });
        expect(next.body.accounts.map((a: { id: string }) => a.id)).to.deep.equal(['list-c']);
        for (const qs of ['limit=0', 'limit=501', 'limit=x', 'offset=-1', 'offset=1.5', `query=${'q'.repeat(257)}`, 'limit=1&limit=2', 'offset=', 'limit=0x2', 'limit=1e2', 'offset=%207']) {
          expect((await api.get(`/api/accounts?${qs}`, { headers: API })).status, qs).to.equal(400);
        }
      });

      it('answers control characters (a NUL, which PostgreSQL cannot store) with 4xx, never 5xx', async () => {
        expect((await api.post('/api/login', { username: 'ab\u0000cd', password: 'xxxxxxxxxx' })).status).to.equal(401);
        expect((await api.get('/api/accounts?query=%00', { headers: API })).status).to.equal(400);
        for (const method of ['GET', 'PATCH', 'DELETE']) {
          const reply = await api.request(method, '/api/accounts/b%00', method === 'PATCH' ? { disabled: true } : undefined, { headers: API });
          expect(reply.status, method).to.equal(404);
        }
        expect((await api.post('/api/accounts', { id: 'nul\u0000id' }, { headers: API })).status).to.equal(400);
        expect((await api.post('/api/provision', { user: 'nul\u0000' }, { headers: API })).status).to.equal(400);
      });

      it('deletes an account (204): its tokens stop at once, and it is gone', async () => {
        await api.post('/api/accounts', { id: 'doomed', username: 'doomed_user', password: PASSWORD }, { headers: API });
        const { body } = await api.post('/api/login', { username: 'doomed_user', password: PASSWORD });
        expect((await introspect(body.userAuth.token)).active).to.equal(true);
        expect((await api.request('DELETE', '/api/accounts/doomed', undefined, { headers: API })).status).to.equal(204);
        expect(await introspect(body.userAuth.token)).to.deep.equal({ active: false });
        expect((await api.post('/api/refresh', { refreshToken: body.refreshToken })).status).to.equal(401);
        expect((await api.get('/api/accounts/doomed', { headers: API })).status).to.equal(404);
        expect((await api.request('DELETE', '/api/accounts/doomed', undefined, { headers: API })).status).to.equal(404);
        expect((await api.post('/api/login', { username: 'doomed_user', password: PASSWORD })).status).to.equal(401);
      });
    });

    describe('keypair identities are accounts', () => {
      it('makes an account at the first login whose id is the key; sub stays the key, with a pubkey claim', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        expect((await api.get(`/api/accounts/${pubkey}`, { headers: API })).status).to.equal(404);
        const [a, b] = await Promise.all([keypairLogin(identity, kg.wsUrl), keypairLogin(identity, kg.wsUrl)]);
        for (const auth of [a, b]) {
          const { payload } = await jwtVerify(auth.token!, createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`)));
          expect(payload).to.include({ sub: pubkey, pubkey });
        }
        expect((await api.get(`/api/accounts?query=${pubkey}`, { headers: API })).body.total).to.equal(1);
      });

      it('grants a keypair login exactly the scope its roles allow, and keeps it (never wider) on reissue', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        await expectRefused(keypairLogin(identity, kg.wsUrl, { scope: 'editor' }), /Scope not allowed: editor/);
        expect(decodeJwt((await keypairLogin(identity, kg.wsUrl)).token!)).to.not.have.property('scope');
        await api.request('PATCH', `/api/accounts/${pubkey}`, { roles: ['editor', 'viewer'] }, { headers: API });
        const all = await keypairLogin(identity, kg.wsUrl);
        expect(decodeJwt(all.token!).scope).to.equal('editor viewer');
        const one = await keypairLogin(identity, kg.wsUrl, { scope: 'viewer' });
        expect(decodeJwt(one.token!).scope).to.equal('viewer');
        await expectRefused(keypairLogin(identity, kg.wsUrl, { scope: 'admin' }), /Scope not allowed: admin/);
        const copy = await api.get('/api/userauth', { headers: bearer(one.token!) });
        expect(decodeJwt(copy.body.token).scope, 'a copy keeps the login\'s scope').to.equal('viewer');
        await api.request('PATCH', `/api/accounts/${pubkey}`, { roles: ['editor'] }, { headers: API });
        const narrowed = await api.get('/api/userauth', { headers: bearer(all.token!) });
        expect(decodeJwt(narrowed.body.token).scope, 'a lost role leaves the scope').to.equal('editor');
      });

      it('keeps a password login\'s scope across refreshes, never wider, as roles change', async () => {
        await api.post('/api/accounts', { id: 'scoped-user', username: 'scoped_user', password: PASSWORD, roles: ['a', 'b'] }, { headers: API });
        const first = await api.post('/api/login', { username: 'scoped_user', password: PASSWORD, scope: 'a' });
        const second = await api.post('/api/refresh', { refreshToken: first.body.refreshToken });
        expect(decodeJwt(second.body.userAuth.token).scope).to.equal('a');
        await api.request('PATCH', '/api/accounts/scoped-user', { roles: ['a', 'b', 'c'] }, { headers: API });
        const third = await api.post('/api/refresh', { refreshToken: second.body.refreshToken });
        expect(decodeJwt(third.body.userAuth.token).scope, 'a new role is not added to a running login').to.equal('a');
      });

      it('lets an app create a key\'s account before its first login, with roles', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        const created = await api.post('/api/accounts', { id: pubkey, roles: ['beta'] }, { headers: API });
        expect(created.status).to.equal(201);
        const auth = await keypairLogin(identity, kg.wsUrl, { scope: 'beta' });
        expect(decodeJwt(auth.token!)).to.include({ sub: pubkey, pubkey, scope: 'beta' });
        expect((await api.get(`/api/accounts/${pubkey}`, { headers: API })).body.publicKeys).to.deep.equal([pubkey]);
      });

      it('refuses a disabled key at the handshake with {type:"error"} and close 4403, before any challenge', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        const token = (await keypairLogin(identity, kg.wsUrl)).token!;
        expect((await introspect(token)).active).to.equal(true);
        const disabled = await api.request('PATCH', `/api/accounts/${pubkey}`, { disabled: true }, { headers: API });
        expect(disabled.body.disabled).to.equal(true);

        const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
        socket.send({ type: 'token', pubkey });
        const reply = await socket.next();
        expect(reply).to.deep.equal({ type: 'error', value: 'This identity is disabled.' });
        expect((await socket.closed).code).to.equal(4403);

        expect(await introspect(token), 'live tokens stop at once').to.deep.equal({ active: false });
        expect((await api.get('/api/userauth', { headers: bearer(token) })).status).to.equal(401);
        await api.request('PATCH', `/api/accounts/${pubkey}`, { disabled: false }, { headers: API });
        expect((await keypairLogin(identity, kg.wsUrl)).token).to.be.a('string');
        expect(await introspect(token), 'enabling does not revive old tokens').to.deep.equal({ active: false });
      });

      it('stops every token of a disabled password account at once: introspection, /api/userauth, refresh', async () => {
        await api.post('/api/accounts', { id: 'to-disable', username: 'to_disable', password: PASSWORD }, { headers: API });
        const { body } = await api.post('/api/login', { username: 'to_disable', password: PASSWORD });
        await admin.updateAccount('to-disable', { disabled: true });
        expect(await introspect(body.userAuth.token)).to.deep.equal({ active: false });
        expect((await api.get('/api/userauth', { headers: bearer(body.userAuth.token) })).status).to.equal(401);
        expect((await api.post('/api/refresh', { refreshToken: body.refreshToken })).status).to.equal(401);
      });
    });

    describe('linking keys to a logged-in account', () => {
      let token: string;
      let accountId: string;
      before(async () => {
        const created = await api.post('/api/accounts', { username: 'linker', password: PASSWORD, roles: ['member'] }, { headers: API });
        accountId = created.body.id;
        token = (await api.post('/api/login', { username: 'linker', password: PASSWORD })).body.userAuth.token;
      });

      it('links a key by proof of possession (201); a keypair login with it then yields the account', async () => {
        const identity = PrivateKey.fromRandom();
        const linked = await linkKey(api, token, identity);
        expect(linked.status, JSON.stringify(linked.body)).to.equal(201);
        expect(linked.body).to.include({ id: accountId, username: 'linker' });
        expect(linked.body.publicKeys).to.deep.equal([identity.public.toString()]);
        const auth = await keypairLogin(identity, kg.wsUrl, { scope: 'member' });
        expect(decodeJwt(auth.token!)).to.include({ sub: accountId, pubkey: identity.public.toString(), scope: 'member' });
        const me = await api.get('/api/me', { headers: bearer(auth.token!) });
        expect(me.body).to.include({ id: accountId, username: 'linker' });
      });

      it('refuses a key linked to another account (409 key_linked), a replayed or missing challenge, and a bad signature', async () => {
        const other = PrivateKey.fromRandom();
        await keypairLogin(other, kg.wsUrl); // its own account now
        const taken = await linkKey(api, token, other);
        expect(taken.status).to.equal(409);
        expect(taken.body.error).to.equal('key_linked');

        const fresh = PrivateKey.fromRandom();
        const pubkey = fresh.public.toString();
        const challenge = await api.post('/api/me/keys/challenge', { pubkey }, { headers: bearer(token) });
        const wrong = await PrivateKey.fromRandom().sign(Uint8Array.from(challenge.body.value.data as number[]));
        const refused = await api.post('/api/me/keys', { pubkey, sig: bufferJson(wrong) }, { headers: bearer(token) });
        expect([refused.status, refused.body.error]).to.deep.equal([401, 'invalid_signature']);
        const right = await fresh.sign(Uint8Array.from(challenge.body.value.data as number[]));
        const replay = await api.post('/api/me/keys', { pubkey, sig: bufferJson(right) }, { headers: bearer(token) });
        expect([replay.status, replay.body.error], 'the challenge was spent by the failed answer').to.deep.equal([400, 'no_challenge']);

        expect((await api.post('/api/me/keys/challenge', { pubkey: 'bnotakey' }, { headers: bearer(token) })).body.error).to.equal('invalid_pubkey');
        expect((await api.post('/api/me/keys/challenge', { pubkey }, { headers: bearer('not-a-token') })).status).to.equal(401);
        expect((await api.post('/api/me/keys', { pubkey, sig: 'x' }, { headers: bearer(token) })).status).to.equal(401);
      });

      it('links at most ACCOUNT_KEYS_MAX (32) keys to one account', async () => {
        await api.post('/api/accounts', { username: 'many_keys', password: PASSWORD }, { headers: API });
        const mine = (await api.post('/api/login', { username: 'many_keys', password: PASSWORD })).body.userAuth.token;
        for (let i = 0; i < 32; i++) expect((await linkKey(api, mine, PrivateKey.fromRandom())).status).to.equal(201);
        const over = await linkKey(api, mine, PrivateKey.fromRandom());
        expect([over.status, over.body.message]).to.deep.equal([400, 'An account may link at most 32 keys.']);
        expect((await api.get('/api/accounts/many_keys', { headers: API })).body.publicKeys).to.have.length(32);
      });

      it('gives a handshake under way when its key is unlinked no token for the account, nor its roles', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        await linkKey(api, token, identity);
        const open = async (scope?: string) => {
          const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
          socket.send({ type: 'token', pubkey, ...(scope === undefined ? {} : { scope }) });
          const challenge = await socket.next();
          return { socket, sig: bufferJson(await identity.sign(Uint8Array.from(challenge.value.data as number[]))) };
        };
        const scoped = await open('member');
        const plain = await open();
        const http = await api.post('/api/challenges', { pubkey, scope: 'member' });
        expect((await api.request('DELETE', `/api/me/keys/${pubkey}`, undefined, { headers: bearer(token) })).status).to.equal(200);

        scoped.socket.send({ type: 'challenge', sig: scoped.sig });
        expect(await scoped.socket.next()).to.deep.equal({ type: 'error', value: 'Scope not allowed: member.' });
        plain.socket.send({ type: 'challenge', sig: plain.sig });
        const reply = await plain.socket.next();
        expect(decodeJwt(reply.value.token as string), 'the key is its own account again').to.include({ sub: pubkey, pubkey });
        const answer = await api.post(`/api/challenges/${http.body.id}`, { sig: bufferJson(await identity.sign(Uint8Array.from(http.body.value.data as number[]))) });
        expect([answer.status, answer.body.error]).to.deep.equal([400, 'invalid_scope']);
      });

      it('grants the roles an account has when the challenge is answered, not when it was sent', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        await api.post('/api/accounts', { id: pubkey, roles: ['admin'] }, { headers: API });
        const http = await api.post('/api/challenges', { pubkey, scope: 'admin' });
        await api.request('PATCH', `/api/accounts/${pubkey}`, { roles: [] }, { headers: API });
        const answer = await api.post(`/api/challenges/${http.body.id}`, { sig: bufferJson(await identity.sign(Uint8Array.from(http.body.value.data as number[]))) });
        expect([answer.status, answer.body.error]).to.deep.equal([400, 'invalid_scope']);
      });

      it('expires a link challenge after CHALLENGE_TTL_MS on the injected clock', async () => {
        const fresh = PrivateKey.fromRandom();
        const pubkey = fresh.public.toString();
        const challenge = await api.post('/api/me/keys/challenge', { pubkey }, { headers: bearer(token) });
        expect(Date.parse(challenge.body.expiresAt) - clock.ms).to.equal(30_000);
        const sig = bufferJson(await fresh.sign(Uint8Array.from(challenge.body.value.data as number[])));
        clock.advance(30_001);
        const late = await api.post('/api/me/keys', { pubkey, sig }, { headers: bearer(token) });
        expect([late.status, late.body.error]).to.deep.equal([400, 'no_challenge']);
      });

      it('unlinks a key: tokens of its logins stop at once; the last way to log in stays', async () => {
        const identity = PrivateKey.fromRandom();
        await linkKey(api, token, identity);
        const keyToken = (await keypairLogin(identity, kg.wsUrl)).token!;
        clock.advance(1000);
        const unlinked = await api.request('DELETE', `/api/me/keys/${identity.public.toString()}`, undefined, { headers: bearer(token) });
        expect(unlinked.status).to.equal(200);
        expect(unlinked.body.publicKeys).to.not.include(identity.public.toString());
        expect(await introspect(keyToken)).to.deep.equal({ active: false });
        expect((await introspect(token)).active, 'the password login goes on').to.equal(true);
        expect((await api.request('DELETE', `/api/me/keys/${identity.public.toString()}`, undefined, { headers: bearer(token) })).status).to.equal(404);

        const loner = PrivateKey.fromRandom();
        const lonerToken = (await keypairLogin(loner, kg.wsUrl)).token!;
        const last = await api.request('DELETE', `/api/me/keys/${loner.public.toString()}`, undefined, { headers: bearer(lonerToken) });
        expect([last.status, last.body.error]).to.deep.equal([409, 'last_credential']);
      });
    });

    describe('provisioning (POST /api/provision)', () => {
      it('answers {user, resources, token, userAuth, expiresAt}: sub is the user, the resources exactly as granted, 6 hours', async () => {
        const resources = [{ object: 'room', reference: 'express-minimal', permission: 'join' }, { object: 'doc', reference: 'a/b:c' }];
        const reply = await api.post('/api/provision', { user: 'rs-user-1', resources }, { headers: API });
        expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
        expect(reply.body.user).to.equal('rs-user-1');
        expect(reply.body.resources).to.deep.equal(resources);
        expect(reply.body.token).to.equal(reply.body.userAuth.token);
        expect(reply.body.userAuth.key).to.equal(TEST_API_KEY);
        const { payload } = await jwtVerify(reply.body.token, createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`)));
        expect(payload.sub).to.equal('rs-user-1');
        expect(payload.resources).to.deep.equal(resources);
        expect(payload.exp! - payload.iat!).to.equal(21_600);
        expect(reply.body.expiresAt).to.equal(new Date(payload.exp! * 1000).toISOString());
        expect(payload).to.not.have.property('amr');
        const seen = await introspect(reply.body.token);
        expect(seen).to.include({ active: true, sub: 'rs-user-1' });
        expect(seen.resources).to.deep.equal(resources);
        const account = await api.get('/api/accounts/rs-user-1', { headers: API });
        expect(account.body).to.include({ id: 'rs-user-1', disabled: false });
      });

      it('lets ttl only shorten PROVISION_TTL', async () => {
        const short = await api.post('/api/provision', { user: 'rs-user-2', resources: [], ttl: 60 }, { headers: API });
        const claims = decodeJwt(short.body.token);
        expect(claims.exp! - claims.iat!).to.equal(60);
        for (const ttl of [21_601, 0, -5, 1.5, '60', null]) {
          const reply = await api.post('/api/provision', { user: 'rs-user-2', ttl }, { headers: API });
          expect([reply.status, reply.body.error], String(ttl)).to.deep.equal([400, 'invalid_request']);
        }
      });

      it('refuses malformed input with 400, never 5xx', async () => {
        const cases: unknown[] = [
          {}, { resources: [] }, { user: '' }, { user: 'has space' }, { user: 7 }, { user: 'u', resources: {} },
          { user: 'u', resources: [null] }, { user: 'u', resources: ['room'] }, { user: 'u', resources: [{ object: 'room' }] },
          { user: 'u', resources: [{ object: 'room', reference: 'has space' }] }, { user: 'u', resources: [{ object: 'r'.repeat(65), reference: 'x' }] },
          { user: 'u', resources: [{ object: 'room', reference: 'x'.repeat(257) }] }, { user: 'u', resources: [{ object: 'room', reference: 'x', permission: '' }] },
          { user: 'u', resources: [{ object: 'room', reference: 'x', extra: 1 }] }, { user: 'u', resources: Array.from({ length: 101 }, (_, i) => ({ object: 'room', reference: `r${i}` })) },
          { user: 'u', resources: [{ object: 'room', reference: '\u0000' }] }, { user: 'u', scope: 'admin' }, { user: 'u', resources: null }, [], 'text',
        ];
        for (const body of cases) {
          const reply = await api.post('/api/provision', body, { headers: API });
          expect(reply.status, JSON.stringify(body).slice(0, 120)).to.equal(400);
          expect(['invalid_request', 'invalid_resources']).to.include(reply.body.error);
        }
        expect((await api.get('/api/accounts/u', { headers: API })).status, 'no account for a refused request').to.equal(404);
      });

      it('provisions for a public key string as the key\'s own account: the one it is linked to, or a new one that holds it', async () => {
        const identity = PrivateKey.fromRandom();
        const pubkey = identity.public.toString();
        const first = await api.post('/api/provision', { user: pubkey, resources: [] }, { headers: API });
        expect([first.status, first.body.user]).to.deep.equal([200, pubkey]);
        expect((await api.get(`/api/accounts/${pubkey}`, { headers: API })).body.publicKeys, 'the new account holds the key').to.deep.equal([pubkey]);
        const auth = await keypairLogin(identity, kg.wsUrl);
        expect(decodeJwt(auth.token!).sub, 'the key\'s own login is the same account').to.equal(pubkey);

        const other = PrivateKey.fromRandom();
        const otherKey = other.public.toString();
        expect((await api.post('/api/accounts', { id: 'rs-key-holder', username: 'rs_key_holder', password: PASSWORD }, { headers: API })).status).to.equal(201);
        const login = await api.post('/api/login', { username: 'rs_key_holder', password: PASSWORD });
        expect((await linkKey(api, login.body.userAuth.token, other)).status).to.equal(201);
        const second = await api.post('/api/provision', { user: otherKey, resources: [] }, { headers: API });
        expect([second.status, second.body.user, decodeJwt(second.body.token).sub]).to.deep.equal([200, 'rs-key-holder', 'rs-key-holder']);
        expect((await api.get(`/api/accounts?query=${otherKey}`, { headers: API })).body.total, 'no second account for the key').to.equal(1);
        await api.request('PATCH', `/api/accounts/${otherKey}`, { disabled: true }, { headers: API });
        expect(await introspect(second.body.token), 'disabling the key\'s account ends the provisioned token').to.deep.equal({ active: false });

        // A key unlinked from the account whose id it is: that account is no longer the key's.
        const dropped = PrivateKey.fromRandom();
        const droppedKey = dropped.public.toString();
        expect((await api.post('/api/accounts', { id: droppedKey, username: 'rs_dropper', password: PASSWORD }, { headers: API })).status).to.equal(201);
        const owner = (await api.post('/api/login', { username: 'rs_dropper', password: PASSWORD })).body.userAuth.token as string;
        expect((await api.request('DELETE', `/api/me/keys/${droppedKey}`, undefined, { headers: bearer(owner) })).status).to.be.oneOf([200, 204]);
        const third = await api.post('/api/provision', { user: droppedKey, resources: [] }, { headers: API });
        const thirdSub = decodeJwt(third.body.token).sub;
        expect([third.status, third.body.user === thirdSub, thirdSub === droppedKey]).to.deep.equal([200, true, false]);
        expect(decodeJwt((await keypairLogin(dropped, kg.wsUrl)).token!).sub, 'the key\'s login and its provisioned tokens share one account').to.equal(thirdSub);
      });

      it('refuses a disabled account with 403, and a provisioned token ends with its account', async () => {
        const { token } = (await api.post('/api/provision', { user: 'rs-banned', resources: [] }, { headers: API })).body;
        await api.request('PATCH', '/api/accounts/rs-banned', { disabled: true }, { headers: API });
        const reply = await api.post('/api/provision', { user: 'rs-banned', resources: [] }, { headers: API });
        expect([reply.status, reply.body.error]).to.deep.equal([403, 'account_disabled']);
        expect(await introspect(token)).to.deep.equal({ active: false });
      });

      it('keeps the resources on reissue, and a provisioned token cannot link keys', async () => {
        const resources = [{ object: 'room', reference: 'lobby' }];
        const { token } = (await api.post('/api/provision', { user: 'rs-user-3', resources }, { headers: API })).body;
        const copy = await api.get('/api/userauth', { headers: bearer(token) });
        expect(copy.status).to.equal(200);
        expect(decodeJwt(copy.body.token).resources).to.deep.equal(resources);
        expect(decodeJwt(copy.body.token).exp).to.equal(decodeJwt(token).exp);
        const refused = await api.post('/api/me/keys/challenge', { pubkey: PrivateKey.fromRandom().public.toString() }, { headers: bearer(token) });
        expect([refused.status, refused.body.error]).to.deep.equal([403, 'forbidden']);
        expect((await api.post('/api/revoke', { token })).status).to.equal(200);
        expect(await introspect(copy.body.token), 'revoking one ends its copies').to.deep.equal({ active: false });
      });
    });

    describe('the server-side client (keygate/admin)', () => {
      it('covers accounts, provision, introspection and revocation against the real server', async () => {
        expect(await admin.ensureAccount({ id: 'sdk-user' })).to.deep.equal({ id: 'sdk-user', created: true });
        expect(await admin.ensureAccount({ id: 'sdk-user' })).to.deep.equal({ id: 'sdk-user', created: false });
        const err = await admin.createAccount({ id: 'sdk-user' }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(KeygateError);
        expect(err).to.include({ status: 409, code: 'duplicate_entity' });
        expect((err as KeygateError).details).to.deep.equal({ id: 'sdk-user' });
        expect(await admin.getAccount('sdk-nobody')).to.equal(undefined);
        expect((await admin.updateAccount('sdk-user', { roles: ['x'] })).roles).to.deep.equal(['x']);
        expect((await admin.listAccounts({ query: 'sdk-' })).accounts.map((a) => a.id)).to.deep.equal(['sdk-user']);
        const provisioned = await admin.provision({ user: 'sdk-user', resources: [{ object: 'room', reference: 'r1', permission: 'join' }], ttl: 600 });
        const seen = await admin.introspect(provisioned.token);
        expect(seen.active && seen.resources).to.deep.equal([{ object: 'room', reference: 'r1', permission: 'join' }]);
        await admin.revoke(provisioned.token);
        expect(await admin.introspect(provisioned.token)).to.deep.equal({ active: false });
        await admin.deleteAccount('sdk-user');
        expect(await admin.getAccount('sdk-user')).to.equal(undefined);
        const bad = await admin.provision({ user: 'sdk-user', resources: [{ object: '', reference: '' }] }).catch((e: unknown) => e);
        expect(bad).to.include({ status: 400, code: 'invalid_resources' });
        const locked = new KeygateAdmin({ url: kg.url, apiKey: TEST_API_KEY, apiSecret: 'bnottherightsecretnottherightsecretnottheright' });
        expect(await locked.listAccounts().catch((e: unknown) => e)).to.include({ status: 401, code: 'unauthorized' });
      });
    });
  });
}

async function expectRefused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).to.be.instanceOf(LoginError);
  expect((err as LoginError).message).to.match(message);
}
