/**
 * This machine's raw rates, in their own process: the Ed25519 floor (one verify plus one
 * sign with node:crypto) and argon2id verifications at a given parallelism. (node:crypto
 * against tweetnacl and DER against JWK key import are settled: bench/FINDINGS.md.)
 */
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import argon2 from 'argon2';
import { serve } from './lib.js';

/** CPU microseconds per call of `fn`, over `n` calls (after a short warm-up). */
function cpuPerOp(n: number, fn: () => void): number {
  for (let i = 0; i < Math.min(200, n); i++) fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const challenge = randomBytes(32);
const signature = sign(null, challenge, privateKey);
/** About the size of a JWT signing input (header.payload) that keygate signs. */
const jwtInput = randomBytes(260);

/** One Ed25519 verify plus one Ed25519 sign with node:crypto, CPU µs. */
function floor({ n }: { n: number }) {
  const verifyUs = cpuPerOp(n, () => {
    if (!verify(null, challenge, publicKey, signature)) throw new Error('verify failed');
  });
  const signUs = cpuPerOp(n, () => sign(null, jwtInput, privateKey));
  return { verifyUs, signUs, floorUs: verifyUs + signUs };
}

/** argon2.verify of one PHC hash, `parallelism` at a time, for a bounded time and count. */
async function argon2Rate(args: { hash: string; password: string; parallelism: number; durationMs: number; maxCount: number }) {
  let done = 0;
  let started = 0;
  const t0 = performance.now();
  const end = t0 + args.durationMs;
  const loop = async () => {
    while (performance.now() < end && started < args.maxCount) {
      started++;
      if (!(await argon2.verify(args.hash, args.password))) throw new Error('argon2 verify failed');
      done++;
    }
  };
  await Promise.all(Array.from({ length: args.parallelism }, loop));
  const elapsedMs = performance.now() - t0;
  return { done, elapsedMs, perSecond: (done * 1000) / elapsedMs };
}

serve({ floor, argon2Rate });
