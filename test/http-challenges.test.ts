/**
 * Issue 11 item 2: the keypair login over plain HTTP (POST /api/challenges), and the
 * websocket at /ws/userAuth.
 */
import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { login, loginOverHttp, loginWithHttpChallenge, LoginError } from '../src/client/index.js';
import { basic, client, type ApiClient } from './helpers/http.js';
import { hubHeaders } from './helpers/hub.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TestClock, type TestKeygate } from './helpers/keygate.js';
import { bufferJson } from './helpers/ws.js';

const API = basic(TEST_API_KEY, TEST_API_SECRET);

describe('HTTP challenge door: POST /api/challenges', function () {
  this.timeout(30_000);
  let kg: TestKeygate;
  let api: ApiClient;
  const clock = new TestClock();
  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off' }, undefined, { now: clock.now });
    api = client(kg.url);
  });
  after(() => kg.stop());

  async function challengeFor(identity: PrivateKey, scope?: string) {
    const reply = await api.post('/api/challenges', { pubkey: identity.public.toString(), ...(scope === undefined ? {} : { scope }) });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
    return reply.body as { id: string; value: { type: string; data: number[] }; expiresAt: string };
  }
  const signed = async (identity: PrivateKey, value: { data: number[] }) => ({ sig: bufferJson(await identity.sign(Uint8Array.from(value.data))) });

  it('answers {id, value, expiresAt}, then the same UserAuth as the websocket for the signature', async () => {
    const identity = PrivateKey.fromRandom();
    const challenge = await challengeFor(identity);
    expect(challenge.id).to.match(/^[\w-]{22}$/);
    expect(challenge.value.type).to.equal('Buffer');
    expect(challenge.value.data).to.have.length(32);
    expect(Date.parse(challenge.expiresAt) - clock.ms).to.equal(30_000);
    const reply = await api.post(`/api/challenges/${challenge.id}`, await signed(identity, challenge.value));
    expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
    expect(Object.keys(reply.body).sort()).to.deep.equal(['key', 'msg', 'sig', 'token']);
    expect(reply.body.key).to.equal(TEST_API_KEY);
    const { payload } = await jwtVerify(reply.body.token, createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`)));
    expect(payload).to.include({ sub: identity.public.toString(), pubkey: identity.public.toString() });
    expect(payload.amr).to.deep.equal(['pop']);
  });

  it('works through Client.withUserAuth with loginWithHttpChallenge', async () => {
    const identity = PrivateKey.fromRandom();
    const headers = await hubHeaders(loginWithHttpChallenge(identity, kg.url));
    expect(headers['x-textile-api-key']).to.deep.equal([TEST_API_KEY]);
    const token = headers.authorization![0]!.slice('bearer '.length);
    expect(decodeJwt(token).sub).to.equal(identity.public.toString());
    const again = await loginOverHttp(identity, kg.wsUrl);
    expect(decodeJwt(again.token!).sub, 'a ws:// URL is taken as its http:// twin').to.equal(identity.public.toString());
  });

  it('is single-use: a replayed answer, a second answer after a wrong one, and an unknown id are refused', async () => {
    const identity = PrivateKey.fromRandom();
    const challenge = await challengeFor(identity);
    const answer = await signed(identity, challenge.value);
    expect((await api.post(`/api/challenges/${challenge.id}`, answer)).status).to.equal(200);
    const replay = await api.post(`/api/challenges/${challenge.id}`, answer);
    expect([replay.status, replay.body.error]).to.deep.equal([400, 'no_challenge']);

    const second = await challengeFor(identity);
    const wrong = await api.post(`/api/challenges/${second.id}`, await signed(PrivateKey.fromRandom(), second.value));
    expect([wrong.status, wrong.body.error], 'bound to its key: another key\'s signature').to.deep.equal([401, 'invalid_signature']);
    const late = await api.post(`/api/challenges/${second.id}`, await signed(identity, second.value));
    expect([late.status, late.body.error], 'spent by the wrong answer').to.deep.equal([400, 'no_challenge']);

    for (const id of ['x', 'A'.repeat(22), '../users']) {
      expect((await api.post(`/api/challenges/${encodeURIComponent(id)}`, answer)).body.error, id).to.equal('no_challenge');
    }
  });

  it('lets exactly one of 20 concurrent answers of one challenge win', async () => {
    const identity = PrivateKey.fromRandom();
    const challenge = await challengeFor(identity);
    const answer = await signed(identity, challenge.value);
    const replies = await Promise.all(Array.from({ length: 20 }, () => api.post(`/api/challenges/${challenge.id}`, answer)));
    expect(replies.filter((r) => r.status === 200)).to.have.length(1);
    expect(replies.filter((r) => r.status === 400 && r.body.error === 'no_challenge')).to.have.length(19);
  });

  it('expires a challenge after CHALLENGE_TTL_MS on the injected clock', async () => {
    const identity = PrivateKey.fromRandom();
    const challenge = await challengeFor(identity);
    const answer = await signed(identity, challenge.value);
    clock.advance(30_001);
    const late = await api.post(`/api/challenges/${challenge.id}`, answer);
    expect([late.status, late.body.error]).to.deep.equal([400, 'no_challenge']);
  });

  it('refuses bad input with a clear 4xx and never a token', async () => {
    expect((await api.post('/api/challenges', {})).body.error).to.equal('invalid_request');
    for (const body of [{ scope: 'x' }, { pubkey: 'bnotakey' }, { pubkey: 42 }, { pubkey: PrivateKey.fromRandom().toString() }]) {
      const reply = await api.post('/api/challenges', body);
      expect([reply.status, reply.body.error], JSON.stringify(body)).to.deep.equal([400, 'invalid_pubkey']);
    }
    const identity = PrivateKey.fromRandom();
    expect((await api.post('/api/challenges', { pubkey: identity.public.toString(), scope: 7 })).body.error).to.equal('invalid_scope');
    expect((await api.post('/api/challenges', { pubkey: identity.public.toString(), scope: 'admin' })).body.error).to.equal('invalid_scope');
    const challenge = await challengeFor(identity);
    for (const sig of ['x', bufferJson(new Uint8Array(63)), [1, 2, 3], undefined]) {
      const reply = await api.post(`/api/challenges/${challenge.id}`, { sig });
      expect(reply.status, JSON.stringify(sig)).to.be.oneOf([400, 401]);
      expect(reply.body).to.not.have.property('token');
    }
  });

  it('grants the scope of the key\'s roles, and refuses a disabled key before any challenge', async () => {
    const identity = PrivateKey.fromRandom();
    const pubkey = identity.public.toString();
    await api.post('/api/accounts', { id: pubkey, roles: ['editor'] }, { headers: API });
    const auth = await loginOverHttp(identity, kg.url, { scope: 'editor' });
    expect(decodeJwt(auth.token!).scope).to.equal('editor');
    await api.request('PATCH', `/api/accounts/${pubkey}`, { disabled: true }, { headers: API });
    const refused = await api.post('/api/challenges', { pubkey });
    expect([refused.status, refused.body.error]).to.deep.equal([403, 'account_disabled']);
    const err = await loginOverHttp(identity, kg.url).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LoginError);
    expect(err).to.include({ kind: 'refused', message: 'This identity is disabled.' });
  });

  it('accepts the websocket at /ws/userAuth, the capitalised path of some Textile clients', async () => {
    const identity = PrivateKey.fromRandom();
    const auth = await login(identity, `${kg.wsUrl}/ws/userAuth`);
    expect(decodeJwt(auth.token!).sub).to.equal(identity.public.toString());
  });
});

describe('HTTP challenge door: limits', function () {
  this.timeout(30_000);
  it('charges each challenge to the client address like a websocket handshake (RATE_LIMIT_POINTS)', async () => {
    const kg = await startTestKeygate({ RATE_LIMITS: 'on', RATE_LIMIT_POINTS: '3' });
    try {
      const api = client(kg.url);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await api.post('/api/challenges', { pubkey: PrivateKey.fromRandom().public.toString() })).status);
      expect(statuses).to.deep.equal([201, 201, 201, 429]);
      const err = await login(PrivateKey.fromRandom(), kg.wsUrl).catch((e: unknown) => e);
      expect(err, 'one budget for both doors').to.be.instanceOf(LoginError);
    } finally {
      await kg.stop();
    }
  });
});
