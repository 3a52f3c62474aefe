/**
 * The benchmark may not edit src/. To measure what the proposed changes would buy, it runs
 * a patched *copy* of dist/ (in bench/results/patched-dist, gitignored) next to the real one.
 * Each patch must match exactly once; one that no longer matches is reported, not applied.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, ROOT } from './lib.js';

interface Patch {
  name: string;
  file: string;
  find: string;
  replace: string;
}

export const PATCHES: Patch[] = [
  {
    name: 'identity.ts: import the raw public key as a JWK instead of DER/SPKI (OpenSSL 3 decoder lookup)',
    file: 'core/identity.js',
    find: "key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });",
    replace: "key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });",
  },
  {
    name: 'provision.ts: sign the JWT with node:crypto sign() directly instead of jose (WebCrypto job per token)',
    file: 'core/provision.js',
    find: `const token = await new SignJWT({ ...claims })
            .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
            .sign(privateKey);`,
    replace: `const signingInput = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid })).toString('base64url') + '.' + Buffer.from(JSON.stringify(claims)).toString('base64url');
        const token = signingInput + '.' + nodeSign(null, Buffer.from(signingInput), privateKey).toString('base64url');`,
  },
  {
    name: 'provision.ts: (import for the previous patch)',
    file: 'core/provision.js',
    find: "import { randomUUID } from 'node:crypto';",
    replace: "import { randomUUID, sign as nodeSign } from 'node:crypto';",
  },
  {
    name: 'ws/userauth.ts: build the "client closed" AuthError (and its stack trace) only when the login is still under way',
    file: 'server/ws/userauth.js',
    find: "this.login.abandon(new AuthError('invalid_request', 'The client closed the connection before the handshake finished.'));",
    replace: "if (!this.login.finished) this.login.abandon(new AuthError('invalid_request', 'The client closed the connection before the handshake finished.'));",
  },
];

/** Copies dist/ and applies the patches; returns the copy's main.js and what was applied. */
export function preparePatchedDist(): { mainJs: string; applied: string[]; skipped: string[] } {
  const dir = join(BENCH_DIR, 'results', 'patched-dist');
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(ROOT, 'dist'), dir, { recursive: true });
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const patch of PATCHES) {
    const path = join(dir, patch.file);
    const text = readFileSync(path, 'utf8');
    if (text.split(patch.find).length !== 2) {
      skipped.push(patch.name);
      continue;
    }
    writeFileSync(path, text.replace(patch.find, () => patch.replace));
    applied.push(patch.name);
  }
  return { mainJs: join(dir, 'main.js'), applied, skipped };
}
