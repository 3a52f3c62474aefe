/**
 * This machine's raw rates, in their own process: the Ed25519 floor (one verify plus one
 * sign with node:crypto), the server path's verification against @textile/crypto's
 * tweetnacl, public-key import costs, and argon2id verifications at a given parallelism.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import argon2 from 'argon2';
import { PrivateKey, PublicKey } from '@textile/hub';
import { formatPublicKey, parsePublicKey, verifySignature } from '../src/core/identity.js';
import { serve } from './lib.js';

/** CPU microseconds per call of `fn`, over `n` calls (after a short warm-up). */
function cpuPerOp(n: number, fn: () => void): number {
  for (let i = 0; i < Math.min(200, n); i++) fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

async function cpuPerOpAsync(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(20, n); i++) await fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const der = publicKey.export({ format: 'der', type: 'spki' });
const raw = der.subarray(der.length - 32);
const id = formatPublicKey(raw);
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

/** The server path (parsePublicKey + verifySignature from src/core/identity.ts) vs tweetnacl. */
async function verifiers({ n, nNacl }: { n: number; nNacl: number }) {
  const identity = parsePublicKey(id);
  // A genuine Textile identity signing the same challenge, for tweetnacl to verify.
  const textileIdentity = PrivateKey.fromRandom();
  const textileSig = await textileIdentity.sign(challenge);
  const textilePublic = PublicKey.fromString(textileIdentity.public.toString());
  const serverVerifyUs = cpuPerOp(n, () => {
    if (!verifySignature(identity, challenge, signature)) throw new Error('server verify failed');
  });
  const serverParseVerifyUs = cpuPerOp(n, () => {
    if (!verifySignature(parsePublicKey(id), challenge, signature)) throw new Error('server verify failed');
  });
  const naclVerifyUs = await cpuPerOpAsync(nNacl, async () => {
    if (!(await textilePublic.verify(challenge, textileSig))) throw new Error('tweetnacl verify failed');
  });
  const pubString = textileIdentity.public.toString();
  const naclParseVerifyUs = await cpuPerOpAsync(nNacl, async () => {
    if (!(await PublicKey.fromString(pubString).verify(challenge, textileSig))) throw new Error('tweetnacl verify failed');
  });
  return { serverVerifyUs, serverParseVerifyUs, naclVerifyUs, naclParseVerifyUs };
}

/** What importing a raw Ed25519 public key costs through DER (today's parsePublicKey) and JWK. */
function keyImport({ n }: { n: number }) {
  const x = Buffer.from(raw).toString('base64url');
  const derUs = cpuPerOp(n, () => createPublicKey({ key: Buffer.concat([der.subarray(0, 12), raw]), format: 'der', type: 'spki' }));
  const jwkUs = cpuPerOp(n, () => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }));
  const parseUs = cpuPerOp(n, () => parsePublicKey(id));
  // Import then verify, as a handshake does: an OpenSSL key from JWK pays part of its cost at first use.
  const derVerifyUs = cpuPerOp(n, () => verify(null, challenge, createPublicKey({ key: Buffer.concat([der.subarray(0, 12), raw]), format: 'der', type: 'spki' }), signature));
  const jwkVerifyUs = cpuPerOp(n, () => verify(null, challenge, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }), signature));
  return { derUs, jwkUs, parseUs, derVerifyUs, jwkVerifyUs };
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

serve({ floor, verifiers, keyImport, argon2Rate });
