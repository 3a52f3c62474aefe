import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { decodeProtectedHeader } from 'jose';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { startTestKeygate, tempDir, TestClock, TEST_API_KEY, TEST_API_SECRET, type TestKeygate, TEST_SECRETS } from './helpers/keygate.js';
import { runCli } from './helpers/cli.js';
import { within } from './helpers/poll.js';
import { basic, client } from './helpers/http.js';

const cli = (dataDir: string, args: string[], stdin = '', env: Record<string, string> = {}) => runCli({ DATA_DIR: dataDir, ...TEST_SECRETS, ...env }, args, stdin);

describe('admin command line', function () {
  this.timeout(60_000);
  let kg: TestKeygate;
  let dir: string;
  before(async () => {
    dir = tempDir();
    kg = await startTestKeygate({ KEY_RELOAD_MS: '1000', RATE_LIMITS: 'off' }, dir);
  });
  after(async () => {
    await kg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keygen prints a key/secret pair in Textile\'s format', async () => {
    const { code, stdout } = await cli(dir, ['keygen']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/^USER_API_KEY=b[a-z2-7]{26}\nUSER_API_SECRET=b[a-z2-7]{52}\nSIGNING_KEY_SECRET=[\w-]{43}\n$/);
  });

  it('users add / list / disable / enable work on the server\'s store', async () => {
    const add = await cli(dir, ['users', 'add', 'Carol', '--roles', 'admin,read'], 'carol password\n');
    expect(add.code, add.stderr).to.equal(0);
    expect(add.stdout).to.match(/^created user carol \([0-9a-f-]{36}\) with roles admin read\n$/);
    const api = client(kg.url);
    const login = await api.post('/api/login', { username: 'carol', password: 'carol password' });
    expect(login.status).to.equal(200);
    const intro = await api.post('/api/introspect', { token: login.body.userAuth.token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) });
    expect(intro.body.scope).to.equal('admin read');

    const list = await cli(dir, ['users', 'list', '--json']);
    expect(JSON.parse(list.stdout).map((u: { username: string }) => u.username)).to.include('carol');

    const dup = await cli(dir, ['users', 'add', 'carol'], 'another password\n');
    expect(dup.code).to.equal(1);
    expect(dup.stderr).to.equal('keygate: That username is taken.\n');

    expect((await cli(dir, ['users', 'disable', 'carol'])).stdout).to.match(/^disabled user carol/);
    expect((await api.post('/api/login', { username: 'carol', password: 'carol password' })).status).to.equal(401);
    const dead = await api.post('/api/introspect', { token: login.body.userAuth.token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) });
    expect(dead.body).to.deep.equal({ active: false });
    expect((await cli(dir, ['users', 'enable', 'carol'])).code).to.equal(0);
    expect((await api.post('/api/login', { username: 'carol', password: 'carol password' })).status).to.equal(200);
  });

  it('tokens revoke kills one token; --subject kills every token of a subject', async () => {
    // A server of its own, on the injected clock. What the CLI (another process) revokes
    // reaches it through the store's revocation epoch, read at most once per
    // REVOCATION_CACHE_MS of that clock (live-checks.test.ts tests that); 0 reads it for
    // every token, so the clock, which moves only when told, never hides the CLI's changes.
    const clock = new TestClock();
    const own = await startTestKeygate({ RATE_LIMITS: 'off', REVOCATION_CACHE_MS: '0' }, tempDir(), { now: clock.now });
    try {
      const identity = PrivateKey.fromRandom();
      const [a, b] = [await keypairLogin(identity, own.wsUrl), await keypairLogin(identity, own.wsUrl)];
      const active = async (token: string) =>
        (await client(own.url).post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body.active;
      const one = await cli(own.dataDir, ['tokens', 'revoke', a.token!]);
      expect(one.code, one.stderr).to.equal(0);
      expect([await active(a.token!), await active(b.token!)]).to.deep.equal([false, true]);
      // The CLI stamps the revocation with the real time, somewhere between these two readings.
      const revokedFrom = Date.now();
      const subject = await cli(own.dataDir, ['tokens', 'revoke', '--subject', identity.public.toString()]);
      const revokedBy = Date.now();
      expect(subject.code, subject.stderr).to.equal(0);
      expect(await active(b.token!)).to.equal(false);
      // A token issued at the start of the revocation is revoked with it...
      clock.advance(revokedFrom - clock.ms);
      expect(await active((await keypairLogin(identity, own.wsUrl)).token!), 'a token of the revocation\'s second').to.equal(false);
      // ...tokens of a later second than the revocation are not affected.
      clock.advance(revokedBy - revokedFrom + 1000);
      expect(await active((await keypairLogin(identity, own.wsUrl)).token!), 'a token of a later second').to.equal(true);
    } finally {
      await own.stop();
    }
  });

  it('keys rotate: the new key signs from then on, old keys stay in the JWKS', async () => {
    const before = await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl);
    const oldKid = decodeProtectedHeader(before.token!).kid;
    const rotate = await cli(dir, ['keys', 'rotate']);
    expect(rotate.code, rotate.stderr).to.equal(0);
    const newKid = /^new signing key (\S+);/.exec(rotate.stdout)?.[1];
    expect(newKid).to.be.a('string').and.not.equal(oldKid);
    // The CLI's rotation message stays in its own process (no REDIS_URL): the server follows
    // by re-reading the keys every KEY_RELOAD_MS, a real-time timer, not the injected clock.
    await within(5000, 'the server signing with the CLI\'s new key', async () =>
      decodeProtectedHeader((await keypairLogin(PrivateKey.fromRandom(), kg.wsUrl)).token!).kid === newKid, 100);
    const { keys } = (await (await fetch(`${kg.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(keys.map((k) => k.kid)).to.deep.equal([newKid, oldKid]);
    const intro = await client(kg.url).post('/api/introspect', { token: before.token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) });
    expect(intro.body.active).to.equal(true);
    const list = await cli(dir, ['keys', 'list']);
    expect(list.stdout).to.match(new RegExp(`${newKid}.*\\[signing\\]`));
  });

  it('accounts create / show / list / roles / disable / enable / unlink / delete cover every kind of account', async () => {
    const api = client(kg.url);
    const introspect = async (token: string) => (await api.post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body;
    const made = await cli(dir, ['accounts', 'create', '--id', 'cli-app-user', '--roles', 'reader,writer']);
    expect(made.code, made.stderr).to.equal(0);
    expect(made.stdout).to.equal('created account cli-app-user with roles reader writer\n');
    const dup = await cli(dir, ['accounts', 'create', '--id', 'cli-app-user']);
    expect([dup.code, dup.stderr]).to.deep.equal([1, 'keygate: An account with that id exists already.\n']);
    const named = await cli(dir, ['accounts', 'create', '--username', 'cli_named', '--password'], 'named password\n');
    expect(named.stdout).to.match(/^created account [0-9a-f-]{36} \(cli_named\)\n$/);
    expect((await api.post('/api/login', { username: 'cli_named', password: 'named password' })).status).to.equal(200);

    const identity = PrivateKey.fromRandom();
    const pubkey = identity.public.toString();
    const keyToken = (await keypairLogin(identity, kg.wsUrl)).token!;
    const shown = JSON.parse((await cli(dir, ['accounts', 'show', pubkey, '--json'])).stdout);
    expect(shown).to.include({ id: pubkey, username: null, disabled: false });
    expect(shown.publicKeys).to.deep.equal([pubkey]);
    expect((await cli(dir, ['accounts', 'show', 'cli_named'])).stdout).to.match(/^id {11}[0-9a-f-]{36}\nusername {5}cli_named\n/);
    const listed = await cli(dir, ['accounts', 'list', '--query', 'cli-']);
    expect(listed.stdout).to.equal('cli-app-user  roles: reader writer\n');

    expect((await cli(dir, ['accounts', 'roles', 'cli-app-user', '--roles', 'reader'])).stdout).to.equal('account cli-app-user has roles: reader\n');
    expect((await cli(dir, ['accounts', 'roles', 'cli-app-user'])).code, 'roles need --roles').to.equal(2);
    const provisioned = (await api.post('/api/provision', { user: 'cli-app-user', resources: [] }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) })).body.token;
    expect((await cli(dir, ['accounts', 'disable', 'cli-app-user'])).stdout).to.equal('disabled account cli-app-user\n');
    await within(3000, 'the CLI\'s disable reaching the server', async () => (await introspect(provisioned)).active === false);
    expect((await cli(dir, ['accounts', 'enable', 'cli-app-user'])).code).to.equal(0);

    const unlink = await cli(dir, ['accounts', 'unlink', pubkey, pubkey]);
    expect([unlink.code, unlink.stderr]).to.deep.equal([1, 'keygate: This is the account\'s only way to log in; it cannot be unlinked.\n']);
    expect((await cli(dir, ['accounts', 'delete', pubkey])).stdout).to.equal(`deleted account ${pubkey} and revoked its tokens\n`);
    await within(3000, 'the CLI\'s delete reaching the server', async () => (await introspect(keyToken)).active === false);
    expect((await cli(dir, ['accounts', 'show', pubkey])).stderr).to.equal('keygate: No account has that id, public key or username.\n');
  });

  it('rejects unknown commands with usage and exit code 2', async () => {
    const res = await cli(dir, ['frobnicate']);
    expect(res.code).to.equal(2);
    expect(res.stderr).to.match(/^keygate: unknown command "frobnicate"\n\nusage: keygate <command>/);
  });
});

describe('password rehashing', () => {
  it('rehashes on a successful login when the argon2 parameters have changed', async () => {
    const dir = tempDir();
    const old = await startTestKeygate({ ARGON2_TIME_COST: '1', ARGON2_MEMORY_KIB: '8192' }, dir);
    await client(old.url).post('/api/users', { username: 'rehash_me', password: 'correct horse' });
    const before = (await old.core.store.getAccountByUsername('rehash_me'))!.passwordHash;
    expect(before).to.match(/^\$argon2id\$v=19\$m=8192,p=1,t=1\$/);
    await old.stop({ keepData: true });

    const current = await startTestKeygate({}, dir);
    try {
      expect((await client(current.url).post('/api/login', { username: 'rehash_me', password: 'wrong horse' })).status).to.equal(401);
      expect((await current.core.store.getAccountByUsername('rehash_me'))!.passwordHash).to.equal(before);
      expect((await client(current.url).post('/api/login', { username: 'rehash_me', password: 'correct horse' })).status).to.equal(200);
      expect((await current.core.store.getAccountByUsername('rehash_me'))!.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      expect((await client(current.url).post('/api/login', { username: 'rehash_me', password: 'correct horse' })).status).to.equal(200);
    } finally {
      await current.stop();
    }
  });
});
