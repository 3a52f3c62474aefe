/**
 * Accounts and identities under attack (issue 8, items 3, 5, 6, 9, 15).
 */
import { expect } from 'chai';
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { formatPublicKey, parsePublicKey, PUBLIC_KEY_CACHE_MAX, publicKeyCacheSize } from '../src/core/identity.js';
import { AuthError } from '../src/errors.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, type TestKeygate, TEST_SECRETS } from './helpers/keygate.js';
import { runCli } from './helpers/cli.js';
import { basic, client } from './helpers/http.js';
import { bufferJson, TestSocket } from './helpers/ws.js';

const PASSWORD = 'correct horse battery';
const P = 2n ** 255n - 19n;
const Y8 = 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;

/** The 32-byte little-endian encoding of y, with the sign bit set or not. */
function encodePoint(y: bigint, signBit: boolean): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((y >> BigInt(8 * i)) & 0xffn);
  if (signBit) out[31]! |= 0x80;
  return out;
}

describe('hardening: accounts and identities', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off', HASH_QUEUE_MAX: '100', HASH_QUEUE_TIMEOUT_MS: '60000' });
  });
  after(() => kg.stop());

  describe('3. inputs are bounded before normalisation', () => {
    it('refuses a registration of ~8,000 combining marks without normalising it', async () => {
      const started = performance.now();
      const res = await client(kg.url).post('/api/users', { username: `a${'\u0301'.repeat(8000)}`, password: PASSWORD });
      expect(res.status).to.equal(400);
      expect(res.body.message).to.match(/^username is too long/);
      expect(performance.now() - started).to.be.below(500);
    });

    it('refuses a login name that would expand (1,024 x U+FDFA) before it can become a lockout key', async () => {
      const res = await client(kg.url).post('/api/login', { username: '\ufdfa'.repeat(1024), password: PASSWORD });
      expect(res.status).to.equal(400);
      expect(res.body.message).to.match(/^username is too long/);
    });

    it('answers a login name that expands past USERNAME_MAX as an unknown user, without hashing', async () => {
      const started = performance.now();
      const res = await client(kg.url).post('/api/login', { username: '\ufdfa'.repeat(10), password: PASSWORD });
      expect(res.status).to.equal(401);
      expect(res.body.error).to.equal('invalid_credentials');
      expect(performance.now() - started).to.be.below(500);
    });
  });

  describe('5. the lockout holds under concurrency', () => {
    it('checks at most LOCKOUT_ATTEMPTS passwords of 40 concurrent guesses, and a right one inside the burst does not reopen it', async () => {
      const locking = await startTestKeygate({ RATE_LIMITS: 'off', LOCKOUT_ATTEMPTS: '10', HASH_QUEUE_MAX: '100', HASH_QUEUE_TIMEOUT_MS: '60000' });
      try {
        await locking.core.users.register('burst_target', PASSWORD);
        const verify = locking.core.hasher.verify.bind(locking.core.hasher);
        let checked = 0;
        locking.core.hasher.verify = (hash, password) => {
          checked++;
          return verify(hash, password);
        };
        const api = client(locking.url);
        const guesses = Array.from({ length: 40 }, (_, i) => (i === 20 ? PASSWORD : `wrong guess ${i}`));
        const results = await Promise.all(guesses.map((password) => api.post('/api/login', { username: 'burst_target', password })));
        expect(checked).to.equal(10);
        expect(results.filter((r) => r.status !== 429)).to.have.length(10);
        expect(results.filter((r) => r.status === 429).every((r) => r.body.error === 'account_locked')).to.equal(true);
        expect((await api.post('/api/login', { username: 'burst_target', password: 'one more guess' })).status).to.equal(429);
        expect(checked).to.equal(10);
      } finally {
        await locking.stop();
      }
    });

    it('does not count an attempt whose password was never checked (the hash queue was full)', async () => {
      const busy = await startTestKeygate({ RATE_LIMITS: 'off', LOCKOUT_ATTEMPTS: '3', HASH_CONCURRENCY: '1', HASH_QUEUE_MAX: '0' });
      try {
        const api = client(busy.url);
        await busy.core.users.register('patient_user', PASSWORD);
        const storm = Array.from({ length: 6 }, (_, i) => api.post('/api/login', { username: `storm${i}`, password: PASSWORD }));
        const mine = await Promise.all(Array.from({ length: 6 }, () => api.post('/api/login', { username: 'patient_user', password: PASSWORD })));
        await Promise.all(storm);
        expect(mine.some((r) => r.status === 503), 'some of them met a full queue').to.equal(true);
        expect(mine.filter((r) => r.status === 429)).to.deep.equal([]);
        expect((await api.post('/api/login', { username: 'patient_user', password: PASSWORD })).status).to.equal(200);
      } finally {
        await busy.stop();
      }
    });

    it('refunds a successful login, so a user who logs in keeps their allowance', async () => {
      const locking = await startTestKeygate({ RATE_LIMITS: 'off', LOCKOUT_ATTEMPTS: '2' });
      try {
        const api = client(locking.url);
        await locking.core.users.register('refunded', PASSWORD);
        for (let i = 0; i < 3; i++) expect((await api.post('/api/login', { username: 'refunded', password: PASSWORD })).status).to.equal(200);
        expect((await api.post('/api/login', { username: 'refunded', password: 'wrong password' })).status).to.equal(401);
        expect((await api.post('/api/login', { username: 'refunded', password: PASSWORD })).status).to.equal(200);
      } finally {
        await locking.stop();
      }
    });
  });

  describe('6. revoking by subject cannot be redirected through a username', () => {
    const cli = (args: string[]) => runCli({ DATA_DIR: kg.dataDir, ...TEST_SECRETS }, args);

    it('refuses to register a username that parses as a public key', async () => {
      const victim = PrivateKey.fromRandom().public.toString();
      const res = await client(kg.url).post('/api/users', { username: victim, password: PASSWORD });
      expect(res.status).to.equal(400);
      expect(res.body.message).to.equal('username must not be a public key string.');
    });

    it('takes --subject literally, even when a (legacy) username equals it', async function () {
      this.timeout(30_000);
      const victim = PrivateKey.fromRandom();
      const pubkey = victim.public.toString();
      // A username registered before the profile refused it: straight into the store.
      await kg.core.store.createAccount({ id: 'legacy-user', username: pubkey, passwordHash: 'x', publicKeys: [], roles: [], disabled: false, createdAt: 0, lastLoginAt: null });
      const token = (await keypairLogin(victim, kg.wsUrl)).token!;
      const res = await cli(['tokens', 'revoke', '--subject', pubkey]);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.equal(`revoked every token and session of public key ${pubkey} issued until now\n`);
      expect((await client(kg.url).post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body.active).to.equal(false);
      expect(await kg.core.store.subjectRevokedAt('legacy-user')).to.equal(undefined);
    });

    it('resolves usernames only with --user, and wants exactly one target', async function () {
      this.timeout(30_000);
      await kg.core.users.register('revoke_by_name', PASSWORD);
      const user = (await kg.core.store.getAccountByUsername('revoke_by_name'))!;
      const res = await cli(['tokens', 'revoke', '--user', 'Revoke_By_Name']);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.equal(`revoked every token and session of user revoke_by_name (${user.id}) issued until now\n`);
      const byName = await cli(['tokens', 'revoke', '--subject', 'revoke_by_name']);
      expect(byName.code).to.equal(2);
      expect(byName.stderr).to.match(/^keygate: "revoke_by_name" is neither a public key string nor a user id \(use --user for a username\)\n/);
      const byId = await cli(['tokens', 'revoke', '--subject', user.id]);
      expect(byId.stdout).to.equal(`revoked every token and session of user ${user.id} issued until now\n`);
      const both = await cli(['tokens', 'revoke', '--user', 'x', '--subject', 'y']);
      expect(both.code).to.equal(2);
      expect(both.stderr).to.match(/^keygate: give exactly one of a token, --subject <sub> or --user <username>\n/);
    });
  });

  describe('9. small-order public keys', () => {
    const smallOrderY = [1n, P - 1n, 0n, Y8, P - Y8];

    it('shows the attack is real: the identity point verifies a constant signature over any message', () => {
      const identity = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(encodePoint(1n, false)).toString('base64url') }, format: 'jwk' });
      const forged = Buffer.concat([Buffer.from(encodePoint(1n, false)), Buffer.alloc(32)]);
      expect(verify(null, randomBytes(32), identity, forged)).to.equal(true);
    });

    it('refuses every small-order point in every encoding, and non-canonical encodings', () => {
      const encodings = smallOrderY.flatMap((y) => [encodePoint(y, false), encodePoint(y, true)]);
      // Non-canonical: y + p for the y < 19 that have one (0 and 1 here), and p itself.
      encodings.push(encodePoint(P, false), encodePoint(P + 1n, true), encodePoint(P + 5n, false));
      for (const raw of encodings) {
        const err = (() => {
          try {
            parsePublicKey(formatPublicKey(raw));
          } catch (e) {
            return e;
          }
        })();
        expect(err, Buffer.from(raw).toString('hex')).to.be.instanceOf(AuthError);
        expect((err as AuthError).code).to.equal('invalid_pubkey');
      }
    });

    it('still accepts real keys', () => {
      for (let i = 0; i < 50; i++) {
        const key = PrivateKey.fromRandom();
        expect(parsePublicKey(key.public.toString()).id).to.equal(key.public.toString());
      }
    });

    it('refuses the identity point at the websocket before any challenge, so no token is issued for it', async () => {
      const socket = await TestSocket.open(`${kg.wsUrl}/ws/userauth`);
      socket.send({ type: 'token', pubkey: formatPublicKey(encodePoint(1n, false)) });
      socket.send({ type: 'challenge', sig: bufferJson(Buffer.concat([Buffer.from(encodePoint(1n, false)), Buffer.alloc(32)])) });
      const { messages, close } = await socket.drain();
      expect(messages).to.deep.equal([{ type: 'error', value: 'pubkey is a point of small order, which proves nothing; use a real key.' }]);
      expect(close.code).to.equal(4400);
    });

    it('remembers at most PUBLIC_KEY_CACHE_MAX parsed keys, never a refused one, and a remembered key is the same key', () => {
      const key = PrivateKey.fromRandom().public.toString();
      const first = parsePublicKey(key);
      expect(parsePublicKey(key), 'a returning key is not parsed again').to.equal(first);
      const refused = formatPublicKey(new Uint8Array(32)); // the identity point: small order
      const size = publicKeyCacheSize();
      for (let i = 0; i < 2; i++) expect(() => parsePublicKey(refused), 'refused every time').to.throw(AuthError);
      expect(publicKeyCacheSize(), 'a refused key is not remembered').to.equal(size);
      // DER, not a JWK export of the generated key object (that can deadlock Node 20: see newSigningKey).
      const freshKey = () => formatPublicKey(generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } }).publicKey.subarray(-32));
      for (let i = 0; i < PUBLIC_KEY_CACHE_MAX + 50; i++) parsePublicKey(freshKey());
      expect(publicKeyCacheSize()).to.equal(PUBLIC_KEY_CACHE_MAX);
      expect(parsePublicKey(key), 'the oldest was forgotten, and parses again').to.not.equal(first);
      expect(parsePublicKey(key).id).to.equal(key);
    });

    it('keeps signatures of real keys verifying (no false positives from the check)', async () => {
      const key = PrivateKey.fromRandom();
      const message = randomBytes(32);
      expect(verify(null, message, parsePublicKey(key.public.toString()).key, await key.sign(message))).to.equal(true);
    });
  });

  describe('nit: passwords are well-formed Unicode', () => {
    it('refuses lone surrogates, which would hash as U+FFFD and match another password', async () => {
      const api = client(kg.url);
      const res = await api.post('/api/users', { username: 'surrogate_user', password: '\ud800'.repeat(8) });
      expect(res.body).to.deep.equal({ error: 'invalid_request', message: 'password must be well-formed Unicode (no lone surrogates).' });
      expect((await api.post('/api/login', { username: 'surrogate_user', password: '\udfff'.repeat(8) })).status).to.equal(400);
    });
  });

  describe('15. invisible and look-alike usernames', () => {
    for (const [name, username] of [
      ['a variation selector', 'alice\ufe0f'],
      ['a combining grapheme joiner', 'ali\u034fce'],
      ['a Hangul filler', 'alice\u3164'],
      ['a Hangul choseong filler', '\u115falice'],
      ['a Mongolian variation selector', 'alice\u180b'],
      ['a Cyrillic а among Latin letters', '\u0430lice'],
      ['a dot above an i', 'ali\u0307ce'],
    ] as const) {
      it(`refuses ${name}, so it cannot pass for another account`, async () => {
        const api = client(kg.url);
        const res = await api.post('/api/users', { username, password: PASSWORD });
        expect(res.status).to.equal(400);
        expect(res.body.error).to.equal('invalid_request');
      });
    }

    it('still registers names in one script of any kind', async () => {
      for (const username of ['δημήτρης', 'владимир', 'たろう', 'taro太郎', '김철수']) {
        expect((await client(kg.url).post('/api/users', { username, password: PASSWORD })).status, username).to.equal(201);
      }
    });
  });
});
