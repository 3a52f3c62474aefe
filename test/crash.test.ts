import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { PrivateKey } from '@textile/hub';
import { login as keypairLogin } from '../src/client/index.js';
import { tempDir, TEST_API_KEY, TEST_API_SECRET, TEST_SECRETS } from './helpers/keygate.js';
import { basic, bearer, client } from './helpers/http.js';
import { spawnKeygate } from './helpers/process.js';

describe('crashes and logs (a real process)', function () {
  this.timeout(60_000);
  const dir = tempDir();
  // No reuse interval: a refresh token used before the crash must count as used after it.
  const env = { DATA_DIR: dir, ...TEST_SECRETS, REFRESH_REUSE_INTERVAL_MS: '0' };
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps users, sessions and keys through kill -9, and never logs a secret', async () => {
    const passwords = ['first password here', 'second password here', 'a wrong password'];
    const first = await spawnKeygate(env);
    const api = client(first.url);
    const alice = await api.post('/api/users', { username: 'alice', password: passwords[0] });
    expect(alice.status).to.equal(201);
    expect((await api.post('/api/users', { username: 'bob', password: passwords[1] })).status).to.equal(201);
    const login = await api.post('/api/login', { username: 'alice', password: passwords[0] });
    expect((await api.post('/api/login', { username: 'bob', password: passwords[2] })).status).to.equal(401);
    const refreshed = await api.post('/api/refresh', { refreshToken: login.body.refreshToken });
    const keypair = await keypairLogin(PrivateKey.fromRandom(), first.wsUrl);
    await api.post('/api/introspect', { token: keypair.token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) });
    await api.post('/api/introspect', { token: 'x' }, { headers: basic(TEST_API_KEY, 'bwrongsecretwrongsecretwrongsecret') });
    await api.post('/api/logout', undefined, { headers: bearer(keypair.token!) });

    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal('SIGKILL');

    const second = await spawnKeygate(env);
    try {
      const api2 = client(second.url);
      const again = await api2.post('/api/login', { username: 'alice', password: passwords[0] });
      expect(again.status).to.equal(200);
      expect(again.body.userId).to.equal(alice.body.userId);
      expect((await api2.post('/api/login', { username: 'bob', password: passwords[1] })).status).to.equal(200);
      const intro = (token: string) => api2.post('/api/introspect', { token }, { headers: basic(TEST_API_KEY, TEST_API_SECRET) });
      expect((await intro(refreshed.body.userAuth.token)).body.active, 'a token from before the crash').to.equal(true);
      expect((await intro(keypair.token!)).body.active, 'a logout from before the crash').to.equal(false);
      expect((await api2.post('/api/refresh', { refreshToken: login.body.refreshToken })).status, 'a used refresh token').to.equal(401);

      const logs = first.output() + second.output();
      expect(logs).to.include('keygate listening');
      expect(logs).to.include('"event":"login.refused"');
      for (const secret of [TEST_API_SECRET, ...passwords, login.body.refreshToken, refreshed.body.refreshToken, keypair.token!, keypair.sig]) {
        expect(logs.includes(secret), `the log contains ${secret.slice(0, 12)}…`).to.equal(false);
      }
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).to.equal(0);
    }
  });
});
