/**
 * The front doors under attack: each `describe` names the finding of the security review
 * it guards (issue 8), each `it` what it protects.
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseBearer } from '../src/server/http/auth.js';
import { clientAddress, UNATTRIBUTABLE } from '../src/server/address.js';
import { addressKey, canonicalIp } from '../src/ip.js';
import type { IncomingMessage } from 'node:http';
import { startTestKeygate, tempDir, TEST_API_KEY, TEST_API_SECRET, type TestKeygate } from './helpers/keygate.js';
import { basic, client } from './helpers/http.js';
import { rawRequest, rawUpgrade } from './helpers/raw.js';
import { TestSocket } from './helpers/ws.js';

const PASSWORD = 'correct horse battery';

describe('hardening: the front doors', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off', HANDSHAKE_TIMEOUT_MS: '400' });
  });
  after(() => kg.stop());

  describe('1. the Bearer parser', () => {
    it('answers a header built to backtrack at once, over HTTP', async () => {
      for (const path of ['/api/userauth', '/api/logout']) {
        const res = await rawRequest(kg.url, {
          method: path === '/api/logout' ? 'POST' : 'GET',
          path,
          headers: { authorization: `Bearer ${'a'.repeat(40)}\u00a0` },
        });
        expect(res.status, path).to.equal(401);
        expect(JSON.parse(res.body).error).to.equal('unauthorized');
        expect(res.ms, path).to.be.below(1000);
      }
    });

    it('parses in linear time and accepts only the RFC 6750 token characters', () => {
      // The fastest of three runs: a pause of the machine slows one, a super-linear parse all three.
      const runs = Array.from({ length: 3 }, () => {
        const started = performance.now();
        expect(parseBearer(`Bearer ${'a'.repeat(8000)}\u00a0`)).to.equal(undefined);
        return performance.now() - started;
      });
      expect(Math.min(...runs)).to.be.below(50);
      expect(parseBearer('Bearer abc.DEF-_~+/=')).to.equal('abc.DEF-_~+/=');
      expect(parseBearer('bearer   abc')).to.equal('abc');
      for (const bad of ['Bearer', 'Bearer ', 'Bearer a b', 'Basic abc', 'Bearer a\u00a0', `Bearer ${'a'.repeat(9000)}`]) {
        expect(parseBearer(bad), bad.slice(0, 20)).to.equal(undefined);
      }
    });
  });

  describe('2. websocket upgrades', () => {
    for (const target of ['/ws/x/../userauth', '/ws/./userauth', '/ws/%2e/userauth', '/ws/%75serauth', '//evil/ws/userauth', '/ws\\userauth', '/ws/userauth/', '/WS/userauth']) {
      it(`refuses ${target} at the upgrade, so no socket is left unowned`, async () => {
        const { status, socket } = await rawUpgrade(kg.url, target);
        socket.destroy();
        expect(status).to.equal(404);
        expect(kg.openSockets()).to.equal(0);
      });
    }

    it('hands every accepted socket to its handler: timed out and closed like any other', async () => {
      const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth?client=any`);
      const { messages, close } = await socket.drain();
      expect(messages).to.deep.equal([{ type: 'error', value: 'The handshake must finish within 400 ms.' }]);
      expect(close).to.deep.equal({ code: 4408, reason: 'handshake_timeout' });
    });
  });

  describe('2b. websocket admission (second review)', () => {
    it('refuses an address over its limit at the upgrade (HTTP 429), before a socket exists', async () => {
      const limited = await startTestKeygate({ RATE_LIMIT_POINTS: '2', HANDSHAKE_TIMEOUT_MS: '5000' });
      try {
        const held = [await TestSocket.open(`${limited.wsUrl}/ws/userauth`), await TestSocket.open(`${limited.wsUrl}/ws/userauth`)];
        const { status, socket } = await rawUpgrade(limited.url, '/ws/userauth');
        socket.destroy();
        expect(status).to.equal(429);
        expect(limited.openSockets()).to.equal(2);
        held.forEach((s) => s.ws.close());
      } finally {
        await limited.stop();
      }
    });

    it('charges sockets refused for their Origin like any other', async () => {
      const strict = await startTestKeygate({ RATE_LIMIT_POINTS: '2', ALLOWED_ORIGINS: 'https://app.example.com' });
      try {
        for (let i = 0; i < 2; i++) {
          const refused = await TestSocket.open(`${strict.wsUrl}/ws/userauth`, { origin: `https://evil.example/${'x'.repeat(3000)}` });
          const { messages, close } = await refused.drain();
          expect(close.code).to.equal(4403);
          expect((messages[0] as { value: string }).value.length).to.be.below(240);
        }
        const { status, socket } = await rawUpgrade(strict.url, '/ws/userauth');
        socket.destroy();
        expect(status).to.equal(429);
      } finally {
        await strict.stop();
      }
    });
  });

  describe('7. the client address behind a proxy', () => {
    const req = (xff: string | undefined, peer = '127.0.0.1') =>
      ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

    it('takes the entry the trusted proxies appended, never one the client wrote', () => {
      expect(clientAddress(req('6.6.6.6, 10.9.9.9'), 1)).to.equal('10.9.9.9');
      expect(clientAddress(req('6.6.6.6, 10.1.1.1, 10.2.2.2'), 2)).to.equal('10.1.1.1');
      expect(clientAddress(req('10.1.1.1'), 3)).to.equal('10.1.1.1');
      expect(clientAddress(req('6.6.6.6, 10.9.9.9'), 0)).to.equal('127.0.0.1');
    });

    it('accepts only a valid IP address as the trusted entry, however long the client made the header', () => {
      expect(clientAddress(req('1.2.3.4, not-an-ip'), 1)).to.equal(UNATTRIBUTABLE);
      expect(clientAddress(req(`1.2.3.4, ${'9'.repeat(5000)}`), 1)).to.equal(UNATTRIBUTABLE);
      // The client padded its own part; the proxy still appended the real address last.
      expect(clientAddress(req(`${'6.6.6.6, '.repeat(600)}10.9.9.9`), 1)).to.equal('10.9.9.9');
      expect(clientAddress(req(`${'x'.repeat(9000)}, 10.9.9.9`), 1)).to.equal('10.9.9.9');
      // No header at all: the request did not come through the proxy.
      expect(clientAddress(req(undefined), 1)).to.equal('127.0.0.1');
    });

    it('writes every address one way: IPv4-mapped IPv6 in any spelling is IPv4, zone ids go', () => {
      for (const mapped of ['::ffff:10.0.0.7', '0:0:0:0:0:ffff:10.0.0.7', '::ffff:a00:7', '::FFFF:0A00:0007']) {
        expect(canonicalIp(mapped), mapped).to.equal('10.0.0.7');
      }
      expect(canonicalIp('fe80::1%eth0')).to.equal('fe80:0:0:0:0:0:0:1');
      expect(canonicalIp('2001:DB8::1')).to.equal(canonicalIp('2001:db8:0::0:1'));
      expect(canonicalIp('not an ip')).to.equal(undefined);
      expect(clientAddress(req(undefined, '::ffff:127.0.0.1'), 0)).to.equal('127.0.0.1');
    });

    it('limits IPv6 clients by their /64', () => {
      expect(addressKey('2001:db8:1:2:aaaa::1')).to.equal('2001:db8:1:2::/64');
      expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).to.equal('2001:db8:1:2::/64');
      expect(addressKey('2001:db8::1')).to.equal('2001:db8:0:0::/64');
      expect(addressKey('::1')).to.equal('0:0:0:0::/64');
      expect(addressKey('10.0.0.1')).to.equal('10.0.0.1');
      expect(addressKey(canonicalIp('64:ff9b::10.0.0.1')!)).to.equal('64:ff9b:0:0::/64');
    });

    it('keeps a client that rotates the leftmost X-Forwarded-For entry within its limit', async () => {
      const proxied = await startTestKeygate({ TRUST_PROXY: 'true', RATE_LIMIT_POINTS: '5' });
      try {
        const api = client(proxied.url);
        const statuses: number[] = [];
        for (let i = 0; i < 12; i++) {
          statuses.push((await api.post('/api/refresh', { refreshToken: 'rt_x' }, { headers: { 'x-forwarded-for': `6.6.${i}.${i}, 10.9.9.9` } })).status);
        }
        expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
        expect((await api.post('/api/refresh', { refreshToken: 'rt_x' }, { headers: { 'x-forwarded-for': '10.9.9.10' } })).status).to.equal(401);
      } finally {
        await proxied.stop();
      }
    });
  });

  describe('8. files that hold secrets', () => {
    it('creates the SQLite files owner-only (0600), whatever the directory mode and umask', async () => {
      const dir = join(tempDir(), 'operator-made');
      mkdirSync(dir);
      chmodSync(dir, 0o755);
      const umask = process.umask(0);
      let store: TestKeygate | undefined;
      try {
        store = await startTestKeygate({}, dir);
        await client(store.url).post('/api/users', { username: 'mode_check', password: PASSWORD });
        for (const file of ['keygate.db', 'keygate.db-wal', 'keygate.db-shm']) {
          expect(statSync(join(dir, file)).mode & 0o777, file).to.equal(0o600);
        }
      } finally {
        process.umask(umask);
        await store?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('repairs the mode of files made before', async () => {
      const dir = tempDir();
      const first = await startTestKeygate({}, dir);
      await first.stop({ keepData: true });
      chmodSync(join(dir, 'keygate.db'), 0o644);
      const second = await startTestKeygate({}, dir);
      try {
        expect(statSync(join(dir, 'keygate.db')).mode & 0o777).to.equal(0o600);
      } finally {
        await second.stop();
      }
    });
  });

  describe('10. request bodies', () => {
    for (const [type, raw] of [
      ['application/x-www-form-urlencoded', 'username=victim_x&password=correct+horse+battery'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nvictim_x\r\n--x--\r\n'],
      ['text/plain', '{"username":"victim_x","password":"correct horse battery"}'],
    ] as const) {
      it(`refuses a cross-site ${type.split(';')[0]} body with 415 on every route but introspection`, async () => {
        const api = client(kg.url);
        for (const path of ['/api/users', '/api/login', '/api/refresh', '/api/revoke']) {
          const res = await api.post(path, undefined, { raw, headers: { 'content-type': type } });
          expect(res.status, path).to.equal(415);
          expect(res.body).to.deep.equal({ error: 'unsupported_media_type', message: 'Send the body as application/json.' });
        }
        expect(await kg.core.store.getAccountByUsername('victim_x')).to.equal(undefined);
      });
    }

    it('still takes the RFC 7662 form body on /api/introspect', async () => {
      const res = await client(kg.url).post('/api/introspect', undefined, {
        raw: 'token=nothing', headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(TEST_API_KEY, TEST_API_SECRET) },
      });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ active: false });
    });
  });

  describe('16. the page\'s Content-Security-Policy', () => {
    it('refuses a Host header that is not a plain host[:port] instead of copying it', async () => {
      const res = await rawRequest(kg.url, { path: '/', headers: { host: "evil; script-src 'unsafe-inline' *" } });
      expect(res.status).to.equal(400);
      expect(String(res.headers['content-security-policy'])).not.to.include('unsafe-inline');
    });

    it('builds connect-src from a plain Host, and from PUBLIC_URL when set', async () => {
      const plain = await rawRequest(kg.url, { path: '/', headers: { host: 'auth.example.com:8443' } });
      expect(plain.status).to.equal(200);
      expect(plain.headers['content-security-policy']).to.include("connect-src 'self' ws://auth.example.com:8443;");
      const pinned = await startTestKeygate({ PUBLIC_URL: 'https://login.example.org' });
      try {
        const res = await rawRequest(pinned.url, { path: '/', headers: { host: 'anything.example' } });
        expect(res.headers['content-security-policy']).to.include("connect-src 'self' wss://login.example.org;");
      } finally {
        await pinned.stop();
      }
    });
  });

  describe('also: open connections per address', () => {
    it('caps one address at MAX_CONNECTIONS_PER_ADDRESS while others still get in', async () => {
      const capped = await startTestKeygate({ MAX_CONNECTIONS_PER_ADDRESS: '3' });
      const port = Number(new URL(capped.url).port);
      const open = (localAddress: string) => new Promise<Socket>((resolve, reject) => {
        const socket = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
        socket.on('error', reject);
      });
      const held: Socket[] = [];
      try {
        for (let i = 0; i < 3; i++) held.push(await open('127.0.0.1'));
        const fourth = await open('127.0.0.1');
        held.push(fourth);
        await new Promise((resolve) => fourth.once('close', resolve));
        expect((await rawRequest(capped.url, { path: '/healthz', localAddress: '127.0.0.2' })).status, 'another address').to.equal(200);
        held.forEach((s) => s.destroy());
        let status = 0;
        for (let i = 0; i < 50 && status !== 200; i++) {
          status = await rawRequest(capped.url, { path: '/healthz' }).then((r) => r.status, () => 0);
        }
        expect(status, 'freed slots are given back').to.equal(200);
      } finally {
        held.forEach((s) => s.destroy());
        await capped.stop();
      }
    });
  });

  describe('also: requests Node refuses before any route', () => {
    it('answers headers over Node\'s limit with 431 and the JSON error body', async () => {
      const res = await rawRequest(kg.url, { path: '/healthz', headers: { 'x-filler': 'x'.repeat(20_000) } });
      expect(res.status).to.equal(431);
      expect(JSON.parse(res.body)).to.deep.equal({ error: 'headers_too_large', message: 'The request headers are too large.' });
    });

    it('answers malformed HTTP with 400 and the JSON error body', async () => {
      const { hostname, port } = new URL(kg.url);
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
        let data = '';
        socket.on('data', (d: Buffer) => (data += d.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(reply).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).to.deep.equal({ error: 'invalid_request', message: 'The request is not valid HTTP.' });
    });
  });

  describe('also: what the server tells and logs', () => {
    it('shows no internals on /healthz', async () => {
      expect((await client(kg.url).get('/healthz')).body).to.deep.equal({ status: 'ok', records: 'ok', state: 'ok' });
    });

    it('logs an overload (503 server_busy) at warn, without a stack, at most once a second', async () => {
      const busy = await startTestKeygate({ RATE_LIMITS: 'off', HASH_CONCURRENCY: '1', HASH_QUEUE_MAX: '0' });
      try {
        const api = client(busy.url);
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => api.post('/api/login', { username: `storm${i}`, password: PASSWORD })));
        expect(results.filter((r) => r.status === 503).length).to.be.at.least(5);
        const lines = busy.logLines.map((l) => JSON.parse(l) as { level: number; code?: string; err?: unknown });
        const overload = lines.filter((l) => l.code === 'server_busy');
        expect(overload).to.have.length(1);
        expect(overload[0]!.level).to.equal(40);
        expect(overload[0]!.err).to.equal(undefined);
        expect(lines.filter((l) => l.level >= 50)).to.deep.equal([]);
      } finally {
        await busy.stop();
      }
    });

    it('never logs the username typed into a refused login', async () => {
      const locking = await startTestKeygate({ RATE_LIMITS: 'off', LOCKOUT_ATTEMPTS: '1' });
      try {
        const api = client(locking.url);
        const typed = 'Typed_Into_The_Wrong_Field';
        expect((await api.post('/api/login', { username: typed, password: PASSWORD })).status).to.equal(401);
        expect((await api.post('/api/login', { username: typed, password: PASSWORD })).status).to.equal(429);
        expect(locking.logLines.join('\n').toLowerCase()).not.to.include(typed.toLowerCase());
      } finally {
        await locking.stop();
      }
    });
  });
});
