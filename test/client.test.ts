import { expect } from 'chai';
import { createServer } from 'node:net';
import { PrivateKey } from '@textile/hub';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { login, LoginError, loginWithChallenge, userAuthUrl, type Identity } from '../src/client/index.js';
import { startTestKeygate, type TestKeygate } from './helpers/keygate.js';
import { within } from './helpers/poll.js';

describe('client library: loginWithChallenge', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ HANDSHAKE_TIMEOUT_MS: '5000' });
  });
  after(() => kg.stop());

  it('returns a callback that logs in afresh on every call', async () => {
    const identity = PrivateKey.fromRandom();
    const callback = loginWithChallenge(identity, kg.url);
    const [a, b] = await Promise.all([callback(), callback()]);
    expect(a.token).not.to.equal(b.token);
    const jwks = createRemoteJWKSet(new URL(`${kg.url}/.well-known/jwks.json`));
    for (const auth of [a, b]) expect((await jwtVerify(auth.token!, jwks)).payload.sub).to.equal(identity.public.toString());
  });

  it('rejects with the server\'s error message', async () => {
    const forger: Identity = { public: PrivateKey.fromRandom().public, sign: () => new Uint8Array(64) };
    const err = await login(forger, kg.wsUrl).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LoginError);
    expect(err).to.include({ kind: 'refused', message: 'The signature does not verify for this public key and challenge.' });
  });

  it('times out, and closes its socket', async () => {
    const stalls: Identity = { public: PrivateKey.fromRandom().public, sign: () => new Promise<Uint8Array>(() => undefined) };
    const started = Date.now();
    const err = await login(stalls, kg.wsUrl, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LoginError);
    expect(err).to.include({ kind: 'timeout', message: 'No token from the auth server within 200 ms.' });
    expect(Date.now() - started).to.be.below(1000);
    await within(2000, 'the server seeing the socket close', async () => kg.openSockets() === 0);
  });

  it('reports a server that is down', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const err = await login(PrivateKey.fromRandom(), `ws://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LoginError);
    expect(err).to.include({ kind: 'connection', message: 'The connection to the auth server was lost or refused.' });
  });

  it('builds the handshake URL from a base URL', () => {
    expect(userAuthUrl('http://localhost:3001')).to.equal('ws://localhost:3001/ws/userauth');
    expect(userAuthUrl('https://auth.example.com/')).to.equal('wss://auth.example.com/ws/userauth');
    expect(userAuthUrl('ws://h:1/custom/path')).to.equal('ws://h:1/custom/path');
    expect(() => userAuthUrl('ftp://h')).to.throw(TypeError, 'not a websocket or http URL: ftp://h');
  });
});
