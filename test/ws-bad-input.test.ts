import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { PrivateKey } from '@textile/hub';
import { base32 } from 'multiformats/bases/base32';
import { startTestKeygate, tempDir, TestClock, type TestKeygate } from './helpers/keygate.js';
import { within } from './helpers/poll.js';
import { bufferJson, TestSocket } from './helpers/ws.js';

const pubkeyOf = (id = PrivateKey.fromRandom()) => id.public.toString();

interface Case {
  name: string;
  run(socket: TestSocket): Promise<void> | void;
  error: string | RegExp;
  close: number;
}

/** Sends a public key and returns the challenge bytes. */
async function challengeFor(socket: TestSocket, identity: PrivateKey): Promise<Buffer> {
  socket.send({ type: 'token', pubkey: identity.public.toString() });
  const challenge = await socket.next();
  return Buffer.from(challenge.value.data);
}

const badSigCase = (name: string, sig: unknown, error: string | RegExp): Case => ({
  name,
  async run(socket) {
    await challengeFor(socket, PrivateKey.fromRandom());
    socket.send({ type: 'challenge', sig });
  },
  error,
  close: 4401,
});

const CASES: Case[] = [
  { name: 'invalid JSON', run: (s) => s.send('{"type": "token", '), error: 'The message is not valid JSON.', close: 4400 },
  { name: 'a binary frame', run: (s) => s.send(Buffer.from('{"type":"token"}')), error: 'Binary messages are not accepted; send JSON text.', close: 1003 },
  { name: 'a JSON array', run: (s) => s.send('[1,2,3]'), error: 'The message must be a JSON object with a "type".', close: 4400 },
  { name: 'a JSON string', run: (s) => s.send('"token"'), error: 'The message must be a JSON object with a "type".', close: 4400 },
  { name: 'JSON null', run: (s) => s.send('null'), error: 'The message must be a JSON object with a "type".', close: 4400 },
  { name: 'an unknown type', run: (s) => s.send({ type: 'hello' }), error: 'Unknown message type "hello": expected "token" or "challenge".', close: 4400 },
  { name: 'no type at all', run: (s) => s.send({ pubkey: pubkeyOf() }), error: 'Unknown message type undefined: expected "token" or "challenge".', close: 4400 },
  { name: 'a missing pubkey', run: (s) => s.send({ type: 'token' }), error: /^pubkey is missing/, close: 4400 },
  { name: 'a numeric pubkey', run: (s) => s.send({ type: 'token', pubkey: 12345 }), error: /^pubkey is missing/, close: 4400 },
  { name: 'a pubkey that is not multibase', run: (s) => s.send({ type: 'token', pubkey: 'zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N' }), error: /starting with "b"/, close: 4400 },
  { name: 'a pubkey that is not base32', run: (s) => s.send({ type: 'token', pubkey: 'bbaarei!!!!' }), error: 'pubkey is not valid base32.', close: 4400 },
  { name: 'a private key string', run: (s) => s.send({ type: 'token', pubkey: PrivateKey.fromRandom().toString() }), error: /That is a private key string/, close: 4400 },
  { name: 'a pubkey of the wrong key type', run: (s) => s.send({ type: 'token', pubkey: base32.encode(Uint8Array.of(0x08, 0x02, 0x12, 0x20, ...randomBytes(32))) }), error: /not an Ed25519 public key string/, close: 4400 },
  { name: 'a truncated pubkey', run: (s) => s.send({ type: 'token', pubkey: base32.encode(base32.decode(pubkeyOf()).subarray(0, 20)) }), error: /not an Ed25519 public key string/, close: 4400 },
  { name: 'a pubkey in upper case', run: (s) => s.send({ type: 'token', pubkey: 'b' + pubkeyOf().slice(1).toUpperCase() }), error: /canonical form|not valid base32/, close: 4400 },
  { name: 'a very long pubkey', run: (s) => s.send({ type: 'token', pubkey: 'b' + 'a'.repeat(1000) }), error: 'pubkey is too long to be a public key string.', close: 4400 },
  {
    name: 'a signature before any challenge',
    run: (s) => s.send({ type: 'challenge', sig: bufferJson(randomBytes(64)) }),
    error: /there is no challenge to sign yet/,
    close: 4400,
  },
  badSigCase('a random signature', bufferJson(randomBytes(64)), 'The signature does not verify for this public key and challenge.'),
  badSigCase('a 63-byte signature', bufferJson(randomBytes(63)), 'sig must be 64 bytes, got 63.'),
  badSigCase('a 65-byte signature', bufferJson(randomBytes(65)), 'sig must be 64 bytes, got 65.'),
  badSigCase('a signature as a string', 'c2lnbmF0dXJl', /^sig must be Buffer JSON/),
  badSigCase('a signature as a number', 7, /^sig must be Buffer JSON/),
  badSigCase('a missing signature', undefined, /^sig must be Buffer JSON/),
  badSigCase('a Buffer JSON without data', { type: 'Buffer' }, /^sig must be Buffer JSON/),
  badSigCase('signature bytes out of range', { type: 'Buffer', data: Array(64).fill(256) }, 'sig bytes must be integers from 0 to 255.'),
  badSigCase('signature bytes that are not numbers', { type: 'Buffer', data: Array(64).fill('a') }, 'sig bytes must be integers from 0 to 255.'),
  {
    name: 'a signature by another key',
    async run(s) {
      const challenge = await challengeFor(s, PrivateKey.fromRandom());
      s.send({ type: 'challenge', sig: bufferJson(await PrivateKey.fromRandom().sign(challenge)) });
    },
    error: 'The signature does not verify for this public key and challenge.',
    close: 4401,
  },
  {
    name: 'a signature of other bytes',
    async run(s) {
      const identity = PrivateKey.fromRandom();
      const challenge = await challengeFor(s, identity);
      challenge[0] = challenge[0]! ^ 1;
      s.send({ type: 'challenge', sig: bufferJson(await identity.sign(challenge)) });
    },
    error: 'The signature does not verify for this public key and challenge.',
    close: 4401,
  },
  {
    name: 'a second token request on one socket',
    async run(s) {
      await challengeFor(s, PrivateKey.fromRandom());
      s.send({ type: 'token', pubkey: pubkeyOf() });
    },
    error: 'A token was already requested on this connection; open a new one.',
    close: 4400,
  },
  { name: 'an oversized frame', run: (s) => s.send(JSON.stringify({ type: 'token', pubkey: 'b'.repeat(5000) })), error: 'Messages are limited to 4096 bytes.', close: 1009 },
];

describe('WS /ws/userauth: bad input', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate();
  });
  after(() => kg.stop());

  for (const c of CASES) {
    it(`answers ${c.name} with an error message and a close, never a token`, async () => {
      const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
      await c.run(socket);
      const { messages, close } = await socket.drain();
      const errors = messages.filter((m) => m.type === 'error');
      expect(messages.filter((m) => m.type === 'token')).to.deep.equal([]);
      expect(errors).to.have.length(1);
      if (typeof c.error === 'string') expect(errors[0].value).to.equal(c.error);
      else expect(errors[0].value).to.match(c.error);
      expect(close.code).to.equal(c.close);
    });
  }

  it('never yields a token for a signature replayed on another connection', async () => {
    const identity = PrivateKey.fromRandom();
    const first = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
    const firstChallenge = await challengeFor(first, identity);
    const sig = bufferJson(await identity.sign(firstChallenge));
    const second = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
    await challengeFor(second, identity);
    second.send({ type: 'challenge', sig });
    const replay = await second.drain();
    expect(replay.messages).to.deep.equal([{ type: 'error', value: 'The signature does not verify for this public key and challenge.' }]);
    // The first connection still works once, and its challenge cannot be answered twice.
    first.send({ type: 'challenge', sig });
    first.send({ type: 'challenge', sig });
    const { messages } = await first.drain();
    expect(messages.map((m) => m.type)).to.deep.equal(['token']);
  });

  it('refuses upgrades on unknown websocket paths with 404', async () => {
    for (const path of ['/', '/ws', '/ws/userauth/extra', '/ws/other']) {
      const err = await TestSocket.open(`${kg.wsUrl}${path}`).then(() => null, (e: Error) => e);
      expect(err?.message, path).to.equal('HTTP 404');
    }
  });

  it('still serves handshakes after all of the above', async () => {
    const identity = PrivateKey.fromRandom();
    const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
    const challenge = await challengeFor(socket, identity);
    socket.send({ type: 'challenge', sig: bufferJson(await identity.sign(challenge)) });
    expect((await socket.next()).type).to.equal('token');
  });
});

describe('WS /ws/userauth: time limits', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ HANDSHAKE_TIMEOUT_MS: '300' });
  });
  after(() => kg.stop());

  it('closes a silent client when the handshake times out', async () => {
    const started = Date.now();
    const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
    const { messages, close } = await socket.drain();
    expect(messages).to.deep.equal([{ type: 'error', value: 'The handshake must finish within 300 ms.' }]);
    expect(close.code).to.equal(4408);
    expect(Date.now() - started).to.be.within(250, 2000);
  });

  it('closes a client that never signs its challenge', async () => {
    const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
    socket.send({ type: 'token', pubkey: pubkeyOf() });
    const { messages, close } = await socket.drain();
    expect(messages.map((m) => m.type)).to.deep.equal(['challenge', 'error']);
    expect(close.code).to.equal(4408);
  });
});

describe('WS /ws/userauth: challenge expiry, on the injected clock', () => {
  const clock = new TestClock();
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ CHALLENGE_TTL_MS: '1000' }, tempDir(), { now: clock.now });
  });
  after(() => kg.stop());

  it('accepts a signature CHALLENGE_TTL_MS after the challenge, and refuses one a moment later', async () => {
    const onTime = PrivateKey.fromRandom();
    const first = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
    const firstChallenge = await challengeFor(first, onTime);
    clock.advance(1000);
    first.send({ type: 'challenge', sig: bufferJson(await onTime.sign(firstChallenge)) });
    expect((await first.drain()).messages.map((m) => m.type), 'answered on the last millisecond').to.deep.equal(['token']);

    const late = PrivateKey.fromRandom();
    const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
    const challenge = await challengeFor(socket, late);
    clock.advance(1001);
    socket.send({ type: 'challenge', sig: bufferJson(await late.sign(challenge)) });
    const { messages, close } = await socket.drain();
    expect(messages).to.deep.equal([{ type: 'error', value: 'The challenge has expired.' }]);
    expect(close.code).to.equal(4401);
  });
});

describe('WS /ws/userauth: connections, origins and clean-up', () => {
  it('outlives many half-open TCP connections and closes them after HEADERS_TIMEOUT_MS', async () => {
    const kg = await startTestKeygate({ HEADERS_TIMEOUT_MS: '500' });
    const raw: Socket[] = [];
    try {
      const ended: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        const s = connect(kg.port, '127.0.0.1');
        s.on('error', () => undefined);
        s.resume(); // read the server's 408 so that 'close' can fire
        // Half the connections start an upgrade and never finish the headers.
        if (i % 2 === 0) s.write('GET /ws/userauth HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
        ended.push(new Promise((resolve) => s.on('close', () => resolve())));
        raw.push(s);
      }
      const identity = PrivateKey.fromRandom();
      const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
      const challenge = await challengeFor(socket, identity);
      socket.send({ type: 'challenge', sig: bufferJson(await identity.sign(challenge)) });
      expect((await socket.next()).type).to.equal('token');
      const allClosed = Promise.all(ended).then(() => true);
      const deadline = new Promise<boolean>((r) => setTimeout(() => r(false), 5000));
      expect(await Promise.race([allClosed, deadline]), 'the server closed every idle connection').to.equal(true);
    } finally {
      raw.forEach((s) => s.destroy());
      await kg.stop();
    }
  });

  it('refuses upgrades past WS_MAX_SOCKETS with 503', async () => {
    const kg = await startTestKeygate({ WS_MAX_SOCKETS: '3' });
    try {
      const open = await Promise.all([1, 2, 3].map(() => TestSocket.open(`${kg.wsUrl}/ws/userauth`)));
      const err = await TestSocket.open(`${kg.wsUrl}/ws/userauth`).then(() => null, (e: Error) => e);
      expect(err?.message).to.equal('HTTP 503');
      open[0]!.ws.close();
      await open[0]!.closed;
      // The client has seen its close; the server frees the slot when it sees it too.
      await within(2000, 'the server freeing a socket', async () => kg.openSockets() < 3);
      const again = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
      again.ws.close();
      open.forEach((s) => s.ws.close());
    } finally {
      await kg.stop();
    }
  });

  it('checks Origin against ALLOWED_ORIGINS', async () => {
    const kg = await startTestKeygate({ ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    try {
      const refused = await TestSocket.open(`${kg.wsUrl}/ws/userauth`, { origin: 'https://evil.example.com' });
      const { messages, close } = await refused.drain();
      expect(messages).to.deep.equal([{ type: 'error', value: 'Origin https://evil.example.com is not allowed.' }]);
      expect(close.code).to.equal(4403);
      for (const origin of ['https://app.example.com', 'http://localhost:5173']) {
        const identity = PrivateKey.fromRandom();
        const ok = await TestSocket.open(`${kg.wsUrl}/ws/userauth`, { origin });
        const challenge = await challengeFor(ok, identity);
        ok.send({ type: 'challenge', sig: bufferJson(await identity.sign(challenge)) });
        expect((await ok.next()).type, origin).to.equal('token');
      }
    } finally {
      await kg.stop();
    }
  });

  it('leaves no sockets, listeners or timers behind on any path', async () => {
    const kg = await startTestKeygate({ HANDSHAKE_TIMEOUT_MS: '400' });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    try {
      // Taken at once: a fresh server holds no timer that keeps the process alive (its
      // maintenance timers are unref'd, which getActiveResourcesInfo does not list).
      const baseline = timers();
      const runs: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        runs.push((async () => {
          const identity = PrivateKey.fromRandom();
          const s = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
          switch (i % 5) {
            case 0: { // success
              const challenge = await challengeFor(s, identity);
              s.send({ type: 'challenge', sig: bufferJson(await identity.sign(challenge)) });
              break;
            }
            case 1: s.send('not json'); break; // error
            case 2: break; // timeout
            case 3: s.ws.terminate(); break; // client vanishes
            case 4: s.send('x'.repeat(10_000)); break; // oversized
          }
          await s.closed;
        })());
      }
      await Promise.all(runs);
      // Every client has seen its close; the server cleans up when it sees the close too.
      // Polled for, then each part asserted, so a failure says what was left behind.
      const clean = async () => kg.openSockets() === 0 && kg.server.listenerCount('upgrade') === 1 && timers() <= baseline;
      await within(3000, 'the server cleaning up after every socket', clean).catch(() => undefined);
      expect(kg.openSockets(), 'no open sockets').to.equal(0);
      expect(kg.server.listenerCount('upgrade'), 'one upgrade listener').to.equal(1);
      expect(timers(), 'timers back to baseline').to.be.at.most(baseline);
    } finally {
      await kg.stop();
    }
  });
});
