/**
 * Websocket load generator (its own process): full Textile handshakes with real Ed25519
 * signatures made with node:crypto, at a fixed concurrency; or many pending handshakes
 * (connected, challenge received, never signed) for the memory figure.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { formatPublicKey } from '../src/core/identity.js';
import { serve, summarize } from './lib.js';
import { KEY_POOL } from './params.js';

interface Key {
  id: string;
  privateKey: KeyObject;
}

/** KEY_POOL distinct identities, used round-robin, so the server never sees one key twice in a row. */
const keys: Key[] = [];
function key(i: number): Key {
  while (keys.length < KEY_POOL) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const der = publicKey.export({ format: 'der', type: 'spki' });
    keys.push({ id: formatPublicKey(der.subarray(der.length - 32)), privateKey });
  }
  return keys[i % KEY_POOL]!;
}
let nextKey = 0;

interface Outcome {
  latencyMs?: number;
  error?: string;
  sizes?: { challenge: number; token: number };
  token?: string;
}

/** One whole handshake; resolves (never rejects) when the socket has closed. */
function handshake(url: string, timeoutMs: number): Promise<Outcome> {
  const k = key(nextKey++);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const out: Outcome = {};
    let challengeSize = 0;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      out.error ??= 'client timeout';
      ws.terminate();
    }, timeoutMs);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'token', pubkey: k.id })));
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; value?: { data?: number[]; token?: unknown } };
      if (m.type === 'challenge') {
        challengeSize = data.length;
        const sig = sign(null, Buffer.from(m.value!.data!), k.privateKey);
        ws.send(JSON.stringify({ type: 'challenge', sig: sig.toJSON() }));
      } else if (m.type === 'token' && typeof m.value?.token === 'string') {
        out.latencyMs = performance.now() - t0;
        out.sizes = { challenge: challengeSize, token: data.length };
        out.token = m.value.token as string;
      } else {
        out.error ??= `unexpected message: ${data.toString().slice(0, 120)}`;
      }
    });
    ws.on('error', (err) => {
      out.error ??= err.message;
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (out.latencyMs === undefined || code !== 1000) out.error ??= `closed ${code} without a token`;
      resolve(out);
    });
  });
}

/** Handshakes against `url`, or spread round-robin (one loop each) over `urls`. */
async function handshakes(args: { url?: string; urls?: string[]; concurrency: number; durationMs: number; maxHandshakes: number }) {
  const { concurrency, durationMs, maxHandshakes } = args;
  const urls = args.urls ?? [args.url!];
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let started = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + durationMs;
  const loop = async (n: number) => {
    const url = urls[n % urls.length]!;
    while (performance.now() < end && started < maxHandshakes) {
      started++;
      const o = await handshake(url, 15_000);
      if (o.error !== undefined) errors[o.error] = (errors[o.error] ?? 0) + 1;
      else latencies.push(o.latencyMs!);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, n) => loop(n)));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    ok: latencies.length,
    errors,
    elapsedMs,
    perSecond: (latencies.length * 1000) / elapsedMs,
    latency: summarize(latencies),
    generatorCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

// ---------------------------------------------------------------- pending handshakes

const held: WebSocket[] = [];
const closeCodes: Record<string, number> = {};
let openHeld = 0;

/** Connects, asks for a challenge, and resolves once it has arrived; the socket stays open. */
function pendingOne(url: string, timeoutMs: number): Promise<boolean> {
  const k = key(nextKey++);
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let challenged = false;
    const timer = setTimeout(() => resolve(false), timeoutMs);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'token', pubkey: k.id })));
    ws.on('message', (data: Buffer) => {
      if (!challenged && (JSON.parse(data.toString()) as { type: string }).type === 'challenge') {
        challenged = true;
        openHeld++;
        held.push(ws);
        clearTimeout(timer);
        resolve(true);
      }
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (challenged) {
        openHeld--;
        closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      }
      resolve(false);
    });
  });
}

async function pending(args: { url: string; count: number; parallel: number; timeoutMs: number }) {
  const t0 = performance.now();
  let next = 0;
  let ok = 0;
  const loop = async () => {
    while (next < args.count && performance.now() - t0 < args.timeoutMs) {
      next++;
      if (await pendingOne(args.url, 10_000)) ok++;
    }
  };
  await Promise.all(Array.from({ length: args.parallel }, loop));
  return { held: ok, open: openHeld, elapsedMs: performance.now() - t0 };
}

async function awaitClosed(args: { timeoutMs: number }) {
  const t0 = performance.now();
  while (openHeld > 0 && performance.now() - t0 < args.timeoutMs) await new Promise((r) => setTimeout(r, 100));
  const stillOpen = openHeld;
  for (const ws of held) ws.terminate();
  held.length = 0;
  return { stillOpen, closeCodes, waitedMs: performance.now() - t0 };
}

serve({
  async prepare() {
    key(0);
    return { keys: keys.length };
  },
  async probe({ url }: { url: string }) {
    const o = await handshake(url, 10_000);
    if (o.error !== undefined) throw new Error(`probe handshake failed: ${o.error}`);
    return { ...o.sizes, jwt: o.token };
  },
  handshakes,
  /** `n` live tokens from as many handshakes (10 at a time), for the introspection pool. */
  async tokens({ url, n }: { url: string; n: number }) {
    const out: string[] = [];
    const loop = async () => {
      while (out.length < n) {
        const o = await handshake(url, 10_000);
        if (o.error !== undefined) throw new Error(`token handshake failed: ${o.error}`);
        out.push(o.token!);
      }
    };
    await Promise.all(Array.from({ length: 10 }, loop));
    return out.slice(0, n);
  },
  pending,
  async openCount() {
    return { open: openHeld };
  },
  awaitClosed,
});
