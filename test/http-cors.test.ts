import { expect } from 'chai';
import { startTestKeygate, type TestKeygate } from './helpers/keygate.js';
import { client } from './helpers/http.js';

describe('CORS and security headers', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ ALLOWED_ORIGINS: 'https://app.example.com' });
  });
  after(() => kg.stop());

  it('answers a preflight from an allowed origin', async () => {
    const res = await fetch(`${kg.url}/api/login`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.status).to.equal(204);
    expect(res.headers.get('access-control-allow-origin')).to.equal('https://app.example.com');
    expect(res.headers.get('access-control-allow-methods')).to.equal('GET, POST, PATCH, DELETE, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).to.equal('Authorization, Content-Type');
    expect(res.headers.get('vary')).to.match(/Origin/);
  });

  it('refuses a preflight and a request from any other origin, before any work', async () => {
    const pre = await fetch(`${kg.url}/api/login`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).to.equal(403);
    expect(pre.headers.get('access-control-allow-origin')).to.equal(null);
    const res = await client(kg.url).post('/api/users', { username: 'cors_victim', password: 'correct horse' }, { headers: { origin: 'https://evil.example.com' } });
    expect(res.status).to.equal(403);
    expect(res.body).to.deep.equal({ error: 'origin_not_allowed', message: 'Origin https://evil.example.com is not allowed.' });
    expect(await kg.core.store.getAccountByUsername('cors_victim')).to.equal(undefined);
  });

  it('adds the allow-origin header to real requests from an allowed origin', async () => {
    const res = await client(kg.url).get('/healthz', { headers: { origin: 'https://app.example.com' } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('access-control-allow-origin')).to.equal('https://app.example.com');
  });

  it('sends no CORS headers when ALLOWED_ORIGINS is empty', async () => {
    const open = await startTestKeygate();
    try {
      const res = await client(open.url).get('/healthz', { headers: { origin: 'https://app.example.com' } });
      expect(res.status).to.equal(200);
      expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    } finally {
      await open.stop();
    }
  });

  it('sends security headers and no-store on API responses', async () => {
    const res = await client(kg.url).post('/api/login', { username: 'nobody', password: 'whatever1' });
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(res.headers.get('x-frame-options')).to.equal('DENY');
    expect(res.headers.get('referrer-policy')).to.equal('no-referrer');
    expect(res.headers.get('content-security-policy')).to.equal("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).to.equal('no-store');
    // The router matches paths in any case, so a token can come from /API/login too.
    const upper = await client(kg.url).post('/API/login', { username: 'nobody', password: 'whatever1' });
    expect([upper.status, upper.headers.get('cache-control')]).to.deep.equal([401, 'no-store']);
  });
});
