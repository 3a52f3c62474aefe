/**
 * The required-work reference (issue 12, item 6: "fix what is ours, and report what is not").
 * What any server must do per /ws/userauth handshake to meet the issues, written as tightly as
 * it can be, with keygate's own libraries and nothing else. It is bare ws's exchange
 * (bench/baseline-ws.ts) plus:
 * - the public key string parsed once and remembered (keygate's cache does the same),
 * - a 32-byte CSPRNG challenge and one Ed25519 verify of its signature,
 * - one EdDSA JWT with the claims keygate issues, signed by node:crypto,
 * - the Hub-style {key, sig, msg, token}, its API signature made once per expiry second,
 * - the handshake's info line through pino, written synchronously to a file,
 * - its audit row, queued and inserted in batches into SQLite (WAL, synchronous=FULL),
 * - the metrics: logins by door and outcome, tokens issued, the handshake histogram, the
 *   pending gauge (prom-client).
 * Left out, so that this is a lower bound: accounts, rate limits, Origin checks, timeouts and
 * their errors, events, Koa. Its CPU above bare ws is what those requirements cost on this
 * machine; keygate's CPU above it is keygate's own.
 */
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { base32 } from 'multiformats/bases/base32';
import { calculateJwkThumbprint } from 'jose';
import { pino } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { WebSocketServer, type RawData } from 'ws';
import { AUDIT_BATCH_MAX, AUDIT_FLUSH_MS } from '../src/core/audit.js';
import { BENCH_API } from './server.js';
import { serve } from './lib.js';

interface AuditRow {
  at: number;
  type: string;
  subject: string;
  address: string | null;
  door: string;
  detail: object;
}

/** keygate's token lifetime by default (TOKEN_TTL_S). */
const TOKEN_TTL_S = 3600;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function metrics() {
  const registry = new Registry();
  return {
    logins: new Counter({ name: 'logins_total', help: 'logins', labelNames: ['door', 'outcome'], registers: [registry] }),
    issued: new Counter({ name: 'tokens_issued_total', help: 'tokens', labelNames: ['kind'], registers: [registry] }),
    seconds: new Histogram({ name: 'handshake_duration_seconds', help: 'handshakes', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    pending: new Gauge({ name: 'pending_handshakes', help: 'pending', registers: [registry] }),
  };
}

function auditLog(file: string) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL, subject TEXT,
    address TEXT, door TEXT, code TEXT, detail TEXT NOT NULL DEFAULT '{}');
    CREATE INDEX audit_events_at ON audit_events (at); CREATE INDEX audit_events_subject ON audit_events (subject, id);`);
  const insert = db.prepare('INSERT INTO audit_events (at, type, subject, address, door, code, detail) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const write = db.transaction((rows: AuditRow[]) => {
    for (const r of rows) insert.run(r.at, r.type, r.subject, r.address, r.door, null, JSON.stringify(r.detail));
  });
  let queue: AuditRow[] = [];
  const flush = () => {
    if (queue.length === 0) return;
    const rows = queue;
    queue = [];
    write(rows);
  };
  const timer = setInterval(flush, AUDIT_FLUSH_MS);
  return {
    record(row: AuditRow) {
      queue.push(row);
      if (queue.length >= AUDIT_BATCH_MAX) setImmediate(flush);
    },
    close() {
      clearInterval(timer);
      flush();
      db.close();
    },
  };
}

let stop: (() => Promise<void>) | undefined;

serve({
  async start({ maxPayload }: { maxPayload: number }) {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-required-'));
    const logFd = openSync(join(dir, 'keygate.log'), 'a');
    const log = pino({ level: 'info' }, { write: (line: string) => void writeSync(logFd, line) });
    const audit = auditLog(join(dir, 'audit.db'));
    const m = metrics();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // A key id like keygate's (the key's JWK thumbprint), so the tokens are the same size.
    const kid = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }));
    const header = b64url({ alg: 'EdDSA', typ: 'JWT', kid });
    const apiSecret = base32.decode(BENCH_API.USER_API_SECRET);
    let apiSig: { exp: number; sig: string; msg: string } | undefined;
    const keys = new Map<string, KeyObject>();
    const keyOf = (pubkey: string) => {
      let key = keys.get(pubkey);
      if (!key) {
        const raw = base32.decode(pubkey).subarray(4);
        key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
        keys.set(pubkey, key);
      }
      return key;
    };

    const server = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server, path: '/ws/userauth', maxPayload, perMessageDeflate: false });
    wss.on('connection', (socket, req) => {
      const started = performance.now();
      const address = req.socket.remoteAddress ?? null;
      m.pending.inc();
      let pubkey: string | undefined;
      let challenge: Buffer | undefined;
      const refuse = () => {
        m.logins.inc({ door: 'websocket', outcome: 'refused' });
        socket.close(4401, 'invalid_signature');
      };
      socket.on('message', (data: RawData) => {
        const message = JSON.parse(data.toString()) as { type?: string; pubkey?: string; sig?: { data?: number[] } };
        if (!challenge && message.type === 'token' && typeof message.pubkey === 'string') {
          pubkey = message.pubkey;
          challenge = randomBytes(32);
          socket.send(JSON.stringify({ type: 'challenge', value: challenge.toJSON() }));
        } else if (challenge && pubkey && message.type === 'challenge') {
          const sig = Uint8Array.from(message.sig?.data ?? []);
          if (sig.length !== 64 || !verify(null, challenge, keyOf(pubkey), sig)) return refuse();
          const iat = Math.floor(Date.now() / 1000);
          const exp = iat + TOKEN_TTL_S;
          const claims = { iss: 'keygate', sub: pubkey, iat, exp, jti: randomUUID(), amr: ['pop'], pubkey, sid: randomUUID() };
          const input = `${header}.${b64url(claims)}`;
          const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
          if (apiSig?.exp !== exp) {
            const msg = new Date(exp * 1000).toISOString();
            apiSig = { exp, msg, sig: base32.encode(createHmac('sha256', apiSecret).update(msg).digest()) };
          }
          socket.send(JSON.stringify({ type: 'token', value: { key: BENCH_API.USER_API_KEY, sig: apiSig.sig, msg: apiSig.msg, token } }));
          socket.close(1000, 'done');
          challenge = undefined;
          log.info({ event: 'grant.issued', method: 'keypair', kind: 'login', door: 'websocket', sub: pubkey, jti: claims.jti, kid, exp }, 'grant issued');
          audit.record({ at: Date.now(), type: 'login.succeeded', subject: pubkey, address, door: 'websocket', detail: { jti: claims.jti, scope: null } });
          m.issued.inc({ kind: 'login' });
          m.logins.inc({ door: 'websocket', outcome: 'success' });
          m.seconds.observe((performance.now() - started) / 1000);
        }
      });
      socket.on('close', () => m.pending.dec());
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    stop = async () => {
      for (const socket of wss.clients) socket.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      audit.close();
      closeSync(logFd);
      rmSync(dir, { recursive: true, force: true });
    };
    // The public key, so the bench can verify the reference's tokens as it does keygate's.
    return { wsUrl: `ws://127.0.0.1:${port}/ws/userauth`, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA' } };
  },
  /** Closes the server and its audit database and removes its directory. */
  async stop() {
    await stop?.();
    stop = undefined;
    return {};
  },
});
