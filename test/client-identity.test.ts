import { expect } from 'chai';
import { PrivateKey } from '@textile/hub';
import { login, WebCryptoIdentity } from '../src/client/index.js';
import { startTestKeygate } from './helpers/keygate.js';

describe('client library: WebCryptoIdentity', () => {
  it('writes and reads the same strings as @textile/crypto', async () => {
    const ours = await WebCryptoIdentity.generate();
    const theirs = PrivateKey.fromString(ours.toString());
    expect(theirs.public.toString()).to.equal(ours.public.toString());
    expect(ours.public.toString()).to.match(/^bbaarei[a-z2-7]{52}$/);

    const textile = PrivateKey.fromRandom();
    const read = await WebCryptoIdentity.fromString(textile.toString());
    expect(read.public.toString()).to.equal(textile.public.toString());
    expect(read.toString()).to.equal(textile.toString());
  });

  it('signs what @textile/crypto verifies', async () => {
    const ours = await WebCryptoIdentity.generate();
    const message = new TextEncoder().encode('challenge bytes');
    const sig = await ours.sign(message);
    expect(sig).to.have.length(64);
    expect(await PrivateKey.fromString(ours.toString()).public.verify(message, sig)).to.equal(true);
  });

  it('refuses strings that are not private keys', async () => {
    for (const bad of ['nope', PrivateKey.fromRandom().public.toString(), 'b' + 'a'.repeat(108)]) {
      const err = await WebCryptoIdentity.fromString(bad).catch((e: unknown) => e);
      expect(err, bad).to.be.instanceOf(TypeError);
    }
  });

  it('logs in against a real server', async () => {
    const kg = await startTestKeygate();
    try {
      const identity = await WebCryptoIdentity.generate();
      const auth = await login(identity, kg.wsUrl);
      expect(auth.token).to.be.a('string');
    } finally {
      await kg.stop();
    }
  });
});
