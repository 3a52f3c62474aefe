/** Issue 12 item 4: one structured access-log line per HTTP request, and X-Request-Id. */
import { expect } from 'chai';
import { basic, client } from './helpers/http.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, type TestKeygate } from './helpers/keygate.js';

interface Line { event?: string; level: number; method?: string; route?: string; status?: number; durationMs?: number; address?: string; requestId?: string }

describe('the access log and X-Request-Id', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off', LOG_LEVEL: 'info' });
  });
  after(() => kg.stop());

  const accessLines = (from: number) => kg.logLines.slice(from).map((l) => JSON.parse(l) as Line).filter((l) => l.event === 'http.request');

  it('logs one line per request at info: method, route pattern, status, duration, address and request id; echoes the id', async () => {
    const mark = kg.logLines.length;
    const reply = await client(kg.url).post('/api/login', { username: 'nobody_here', password: 'a secret password' }, { headers: { 'x-request-id': 'req-123.a:b' } });
    expect(reply.status).to.equal(401);
    expect(reply.headers.get('x-request-id')).to.equal('req-123.a:b');
    const lines = accessLines(mark);
    expect(lines).to.have.length(1);
    const [line] = lines as [Line];
    expect(line).to.include({ level: 30, method: 'POST', route: '/api/login', status: 401, address: '127.0.0.1', requestId: 'req-123.a:b' });
    expect(line.durationMs).to.be.a('number').and.to.be.at.least(0);
  });

  it('makes an id when the client sends none or one that is not a plain id', async () => {
    for (const sent of [undefined, 'has space', 'x'.repeat(129), 'a/b', 'quote"d']) {
      const reply = await client(kg.url).get('/healthz', { headers: sent === undefined ? {} : { 'x-request-id': sent } });
      const id = reply.headers.get('x-request-id');
      expect(id, String(sent)).to.match(/^[0-9a-f-]{36}$/);
    }
  });

  it('logs the route pattern, never the raw path, headers or body: no token, password or secret reaches the log', async () => {
    const mark = kg.logLines.length;
    const secretToken = 'T'.repeat(43);
    await client(kg.url).get(`/api/login-requests/${secretToken}`, { headers: basic(TEST_API_KEY, TEST_API_SECRET) });
    await client(kg.url).post('/api/login', { username: 'typed_name', password: 'a secret password' });
    await client(kg.url).get('/no/such/path');
    const lines = accessLines(mark);
    expect(lines.map((l) => [l.route, l.status])).to.deep.equal([['/api/login-requests/:token', 404], ['/api/login', 401], ['(no route)', 404]]);
    const text = kg.logLines.slice(mark).join('\n');
    for (const leak of [secretToken, 'a secret password', 'typed_name', TEST_API_SECRET, Buffer.from(`${TEST_API_KEY}:${TEST_API_SECRET}`).toString('base64')]) {
      expect(text, leak).to.not.include(leak);
    }
  });
});
