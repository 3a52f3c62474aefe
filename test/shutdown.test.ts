/** Issue 12 item 5: on SIGTERM keygate drains: in-flight handshakes finish, the rest are refused clearly, exit 0. */
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { PrivateKey } from '@textile/hub';
import { decodeJwt } from 'jose';
import { SqliteStore } from '../src/store/sqlite.js';
import { TEST_SECRETS, tempDir } from './helpers/keygate.js';
import { within } from './helpers/poll.js';
import { spawnKeygate, type KeygateProcess } from './helpers/process.js';
import { bufferJson, TestSocket } from './helpers/ws.js';

describe('graceful shutdown on SIGTERM', function () {
  this.timeout(60_000);
  let kg: KeygateProcess;
  const dir = tempDir();
  before(async () => {
    kg = await spawnKeygate({
      ...TEST_SECRETS, DATA_DIR: dir, RATE_LIMITS: 'off', LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '2000', HANDSHAKE_TIMEOUT_MS: '60000', CHALLENGE_TTL_MS: '60000',
    });
  });
  after(() => {
    kg.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets 50 handshakes under way finish with tokens, refuses the ones that never answer with 4503, and exits 0', async () => {
    const identities = Array.from({ length: 50 }, () => PrivateKey.fromRandom());
    const open = async (identity: PrivateKey) => {
      const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
      socket.send({ type: 'token', pubkey: identity.public.toString() });
      const challenge = await socket.next();
      return { socket, identity, challenge: Uint8Array.from(challenge.value.data as number[]) };
    };
    const working = await Promise.all(identities.map(open));
    const stragglers = await Promise.all([PrivateKey.fromRandom(), PrivateKey.fromRandom()].map(open));

    kg.child.kill('SIGTERM');
    // The signal lands while every handshake is under way.
    await within(5000, 'the drain to begin', async () => kg.output().includes('"msg":"keygate stopping"'));
    const refusedNew = await TestSocket.open(`${kg.wsUrl}/ws/userauth`).then(() => 'accepted', (e: Error) => e.message);
    expect(refusedNew, 'no new connection once draining').to.not.equal('accepted');

    const outcomes = await Promise.all(working.map(async ({ socket, identity, challenge }) => {
      socket.send({ type: 'challenge', sig: bufferJson(await identity.sign(challenge)) });
      const reply = await socket.next(10_000);
      return { reply, closed: await socket.closed, sub: identity.public.toString() };
    }));
    for (const { reply, closed, sub } of outcomes) {
      expect(reply.type, JSON.stringify(reply)).to.equal('token');
      expect(decodeJwt(reply.value.token as string).sub).to.equal(sub);
      expect(closed.code).to.equal(1000);
    }
    for (const { socket } of stragglers) {
      expect(await socket.next(10_000)).to.deep.equal({ type: 'error', value: 'The server is shutting down; try again shortly.' });
      expect(await socket.closed).to.deep.equal({ code: 4503, reason: 'shutting_down' });
    }
    expect(await kg.exited).to.equal(0);
    expect(kg.output()).to.match(/"refused":2,"graceMs":2000,"msg":"keygate drained"/);
    // The audit queue was written before the stores closed: every login and refusal is there.
    const store = new SqliteStore(dir);
    try {
      const events = await store.queryAudit({ limit: 1000 });
      expect(events.filter((e) => e.type === 'login.succeeded' && e.door === 'websocket')).to.have.length(50);
      expect(events.filter((e) => e.type === 'login.refused' && e.code === 'shutting_down')).to.have.length(2);
      // So were the last-login stamps of those 50 logins.
      const stamped = await Promise.all(identities.map(async (i) => (await store.getAccount(i.public.toString()))?.lastLoginAt));
      expect(stamped.filter((at) => typeof at === 'number')).to.have.length(50);
    } finally {
      await store.close();
    }
  });
});
