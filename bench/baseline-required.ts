/**
 * The required-work reference (issue 12, item 6: "fix what is ours, and report what is not").
 * What a server must do per /ws/userauth handshake to meet the issues, written as tightly as
 * it can be, with keygate's own libraries. It is bare ws's exchange (bench/baseline-ws.ts) plus:
 * - the public key string parsed once and remembered (keygate's cache does the same),
 * - the key's account read before the challenge and again after the signature, a disabled one
 *   refused, from memory (a returning key's handshake in keygate reads no store either), and its
 *   last login stamped at most once a minute,
 * - the handshake timeout and the challenge's expiry,
 * - a 32-byte CSPRNG challenge, the signature's bytes checked, one Ed25519 verify,
 * - one EdDSA JWT with the claims keygate issues, signed by node:crypto,
 * - the Hub-style {key, sig, msg, token}, its API signature made once per expiry second,
 * - the handshake's info line through pino, written synchronously to a file,
 * - its audit row, queued and inserted in batches into SQLite (WAL, synchronous=FULL),
 * - the metrics: logins by door and outcome, tokens issued, the handshake histogram, the
 *   pending gauge (prom-client).
 * Left out, so that this is a lower bound: the store writes behind accounts and login stamps,
 * rate limits and the per-address connection cap (off or idle in the bench), the Origin check,
 * the close grace timer, Textile's error messages beyond a code, events, Koa. Its CPU above bare
 * ws is what the requirements cost at least on this machine; keygate's CPU above it is at most
 * keygate's own.
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

/** keygate's defaults: the token's lifetime (TOKEN_TTL, seconds), HANDSHAKE_TIMEOUT_MS and CHALLENGE_TTL_MS. */
const TOKEN_TTL_S = 3600;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const CHALLENGE_TTL_MS = 30_000;
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
    if (stop) throw new Error('the reference server is already running');
    const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-required-'));
    // Also when the bench goes away (lib.ts exits on disconnect); the bench removes it too, after a kill.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
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

    // Accounts as a returning key's handshake sees them in keygate: remembered in memory, read
    // before the challenge and again after the signature (a disabled one is refused), made at a
    // key's first login, its last login stamped at most once a minute.
    const accounts = new Map<string, { disabled: boolean; lastLoginAt: number }>();
    const admitted = (pubkey: string) => accounts.get(pubkey)?.disabled !== true;

    const server = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server, path: '/ws/userauth', maxPayload, perMessageDeflate: false });
    wss.on('connection', (socket) => {
      const started = performance.now();
      m.pending.inc();
      let pubkey: string | undefined;
      let challenge: Buffer | undefined;
      let expiresAt = 0;
      let done = false;
      const end = (code: number, reason: string) => {
        done = true;
        clearTimeout(timeout);
        socket.close(code, reason);
      };
      const refuse = (code: string) => {
        m.logins.inc({ door: 'websocket', outcome: 'refused' });
        socket.send(JSON.stringify({ type: 'error', value: code }));
        end(4401, code);
      };
      const timeout = setTimeout(() => refuse('handshake_timeout'), HANDSHAKE_TIMEOUT_MS);
      socket.on('message', (data: RawData) => {
        if (done) return;
        try {
          const message = JSON.parse(data.toString()) as { type?: string; pubkey?: string; sig?: { data?: unknown } };
          if (!challenge && message.type === 'token' && typeof message.pubkey === 'string') {
            pubkey = message.pubkey;
            keyOf(pubkey);
            if (!admitted(pubkey)) return refuse('account_disabled');
            challenge = randomBytes(32);
            expiresAt = Date.now() + CHALLENGE_TTL_MS;
            socket.send(JSON.stringify({ type: 'challenge', value: challenge.toJSON() }));
          } else if (challenge && pubkey && message.type === 'challenge') {
            const bytes = message.sig?.data;
            if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return refuse('invalid_signature');
            if (Date.now() > expiresAt) return refuse('challenge_expired');
            if (!verify(null, challenge, keyOf(pubkey), Uint8Array.from(bytes as number[]))) return refuse('invalid_signature');
            if (!admitted(pubkey)) return refuse('account_disabled');
            const now = Date.now();
            const account = accounts.get(pubkey);
            if (!account) accounts.set(pubkey, { disabled: false, lastLoginAt: now });
            else if (now - account.lastLoginAt >= 60_000) account.lastLoginAt = now;
            const iat = Math.floor(now / 1000);
            const exp = iat + TOKEN_TTL_S;
            const claims = { iss: 'keygate', sub: pubkey, iat, exp, jti: randomUUID(), amr: ['pop'], pubkey, sid: randomUUID() };
            const input = `${header}.${b64url(claims)}`;
            const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
            if (apiSig?.exp !== exp) {
              const msg = new Date(exp * 1000).toISOString();
              apiSig = { exp, msg, sig: base32.encode(createHmac('sha256', apiSecret).update(msg).digest()) };
            }
            socket.send(JSON.stringify({ type: 'token', value: { key: BENCH_API.USER_API_KEY, sig: apiSig.sig, msg: apiSig.msg, token } }));
            end(1000, 'done');
            log.info({ event: 'grant.issued', method: 'keypair', kind: 'login', door: 'websocket', sub: pubkey, jti: claims.jti, kid, exp }, 'grant issued');
            audit.record({ at: now, type: 'login.succeeded', subject: pubkey, address: null, door: 'websocket', detail: { jti: claims.jti, scope: null } });
            m.issued.inc({ kind: 'login' });
            m.logins.inc({ door: 'websocket', outcome: 'success' });
            m.seconds.observe((performance.now() - started) / 1000);
          } else {
            refuse('unexpected_message');
          }
        } catch {
          refuse('invalid_message');
        }
      });
      socket.on('close', () => {
        clearTimeout(timeout);
        m.pending.dec();
      });
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
    return { dir, wsUrl: `ws://127.0.0.1:${port}/ws/userauth`, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA' } };
  },
  /** Closes the server and its audit database and removes its directory. */
  async stop() {
    await stop?.();
    stop = undefined;
    return {};
  },
});
