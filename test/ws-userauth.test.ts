import { expect } from 'chai';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createAPISig, PrivateKey } from '@textile/hub';
import { loginWithChallenge } from '../src/client/index.js';
import { hubHeaders } from './helpers/hub.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, TestClock, type TestKeygate } from './helpers/keygate.js';
import { within } from './helpers/poll.js';
import { bufferJson, TestSocket } from './helpers/ws.js';

/** Runs the whole Textile handshake with a raw socket, as the browser example does. */
async function handshake(kg: TestKeygate, identity = PrivateKey.fromRandom()) {
  const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
  socket.send({ type: 'token', pubkey: identity.public.toString() });
  const challenge = await socket.next();
  expect(challenge.type).to.equal('challenge');
  const sig = await identity.sign(Buffer.from(challenge.value));
  socket.send({ type: 'challenge', sig: bufferJson(sig) });
  const token = await socket.next();
  const close = await socket.closed;
  return { identity, challenge, token, close };
}

describe('WS /ws/userauth: the Textile handshake', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ TOKEN_TTL: '600' });
  });
  after(() => kg.stop());

  it('answers a public key with a 32-byte Buffer JSON challenge', async () => {
    const { challenge } = await handshake(kg);
    expect(challenge.value.type).to.equal('Buffer');
    expect(challenge.value.data).to.have.length(32);
    expect(challenge.value.data.every((b: number) => Number.isInteger(b) && b >= 0 && b <= 255)).to.equal(true);
  });

  it('issues a UserAuth whose JWT verifies against /.well-known/jwks.json', async () => {
    const { identity, token, close } = await handshake(kg);
    expect(token.type).to.equal('token');
    expect(Object.keys(token.value).sort()).to.deep.equal(['key', 'msg', 'sig', 'token']);
    const jwks = createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token.value.token, jwks, { issuer: 'keygate', algorithms: ['EdDSA'] });
    expect(protectedHeader.alg).to.equal('EdDSA');
    expect(protectedHeader.kid).to.be.a('string').and.not.equal('');
    expect(payload.sub).to.equal(identity.public.toString());
    expect(payload.exp! - payload.iat!).to.equal(600);
    expect(payload.jti).to.match(/^[0-9a-f-]{36}$/);
    expect(payload.amr).to.deep.equal(['pop']);
    expect(close).to.deep.equal({ code: 1000, reason: 'done' });
  });

  it('signs msg = the expiry with the API secret exactly as @textile/security does', async () => {
    const { token } = await handshake(kg);
    const auth = token.value;
    expect(auth.key).to.equal(TEST_API_KEY);
    const { payload } = await jwtVerify(auth.token, createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`)));
    expect(auth.msg).to.equal(new Date(payload.exp! * 1000).toISOString());
    const expected = await createAPISig(TEST_API_SECRET, new Date(auth.msg));
    expect(auth.sig).to.equal(expected.sig);
    expect(auth.msg).to.equal(expected.msg);
  });

  it('makes the API signature once per expiry second: tokens of one second share it, the next second gets its own, each as @textile/security makes it', async () => {
    const clock = new TestClock();
    const timed = await startTestKeygate({ TOKEN_TTL: '600', RATE_LIMITS: 'off' }, undefined, { now: clock.now });
    try {
      clock.ms = Math.floor(clock.ms / 1000) * 1000 + 100;
      const [a, b] = [(await handshake(timed)).token.value, (await handshake(timed)).token.value];
      clock.advance(1000);
      const c = (await handshake(timed)).token.value;
      expect([a.msg, a.sig]).to.deep.equal([b.msg, b.sig]);
      expect(Date.parse(c.msg) - Date.parse(a.msg)).to.equal(1000);
      for (const auth of [a, c]) expect(auth.sig).to.equal((await createAPISig(TEST_API_SECRET, new Date(auth.msg))).sig);
      expect(c.sig).to.not.equal(a.sig);
    } finally {
      await timed.stop();
    }
  });

  it('publishes only public key material in the JWKS', async () => {
    const res = await fetch(`${kg.url}/.well-known/jwks.json`);
    expect(res.status).to.equal(200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(keys).to.have.length(1);
    expect(Object.keys(keys[0]!).sort()).to.deep.equal(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    expect(keys[0]).to.include({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    const { token } = await handshake(kg);
    expect(decodeProtectedHeader(token.value.token).kid).to.equal(keys[0]!.kid);
  });

  it('works unchanged with Client.withUserAuth and our client library', async () => {
    const identity = PrivateKey.fromRandom();
    const headers = await hubHeaders(loginWithChallenge(identity, kg.wsUrl));
    expect(headers['x-textile-api-key']).to.deep.equal([TEST_API_KEY]);
    const msg = headers['x-textile-api-sig-msg']![0]!;
    expect(new Date(msg).getTime()).to.be.greaterThan(Date.now());
    expect(headers['x-textile-api-sig']).to.deep.equal([(await createAPISig(TEST_API_SECRET, new Date(msg))).sig]);
    const bearer = headers.authorization![0]!;
    expect(bearer).to.match(/^bearer /);
    const { payload } = await jwtVerify(bearer.slice('bearer '.length), createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`)));
    expect(payload.sub).to.equal(identity.public.toString());
  });

  it('emits grant.issued and login.refused events from the core', async () => {
    const issued: unknown[] = [];
    const refused: unknown[] = [];
    const offIssued = kg.core.events.on('grant.issued', (e) => void issued.push(e));
    const offRefused = kg.core.events.on('login.refused', (e) => void refused.push(e));
    try {
      const { identity } = await handshake(kg);
      const bad = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
      bad.send({ type: 'token', pubkey: 'nonsense' });
      await bad.drain();
      await within(2000, 'both events', async () => issued.length > 0 && refused.length > 0);
      expect(issued).to.have.length(1);
      expect(issued[0]).to.include({ method: 'keypair', sub: identity.public.toString() });
      expect(refused).to.have.length(1);
      expect(refused[0]).to.include({ method: 'keypair', code: 'invalid_pubkey', address: '127.0.0.1' });
    } finally {
      offIssued();
      offRefused();
    }
  });

  it('refuses a scope the identity does not hold', async () => {
    const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
    socket.send({ type: 'token', pubkey: PrivateKey.fromRandom().public.toString(), scope: 'admin' });
    const { messages, close } = await socket.drain();
    expect(messages).to.deep.equal([{ type: 'error', value: 'Scope not allowed: admin.' }]);
    expect(close.code).to.equal(4400);
  });
});
