import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { PrivateKey } from '@textile/hub';
import { login } from '../src/client/index.js';
import { startTestKeygate, tempDir } from './helpers/keygate.js';

describe('restarts and start-up', () => {
  it('keeps the signing key: a token from before a restart still verifies', async () => {
    const dir = tempDir();
    const first = await startTestKeygate({}, dir);
    const auth = await login(PrivateKey.fromRandom(), first.wsUrl);
    await first.stop({ keepData: true });

    const second = await startTestKeygate({}, dir);
    try {
      const { payload } = await jwtVerify(auth.token!, createRemoteJWKSet(new URL(`${second.url}/.well-known/jwks.json`)));
      expect(payload.jti).to.be.a('string');
      const fresh = await login(PrivateKey.fromRandom(), second.wsUrl);
      expect(decodeProtectedHeader(fresh.token!).kid).to.equal(decodeProtectedHeader(auth.token!).kid);
    } finally {
      await second.stop();
    }
  });

  it('stops with a message naming the variable when the configuration is bad', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'eighty', DATA_DIR: tempDir() },
      stdio: ['ignore', 'ignore', 'pipe'], // stdout unread: never a pipe that could fill
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).to.equal(1);
    expect(stderr).to.equal('keygate: configuration error: PORT: expected a whole number, got "eighty"\n');
  });

  it('refuses to start in production without an API key', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', PORT: '0', DATA_DIR: tempDir() };
    delete env.USER_API_KEY;
    delete env.USER_API_SECRET;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).to.equal(1);
    expect(stderr).to.match(/^keygate: configuration error: USER_API_KEY: USER_API_KEY and USER_API_SECRET are required when NODE_ENV=production/);
  });
});
