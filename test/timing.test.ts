import { expect } from 'chai';
import { startTestKeygate, type TestKeygate } from './helpers/keygate.js';
import { client } from './helpers/http.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

describe('login timing', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate({ RATE_LIMITS: 'off' });
  });
  after(() => kg.stop());

  it('takes about as long for an unknown user as for a wrong password (medians within 1.5x)', async function () {
    this.timeout(60_000);
    const api = client(kg.url);
    const ROUNDS = 15;
    // Separate accounts, so that the lockout never answers early.
    for (let i = 0; i < ROUNDS; i++) await api.post('/api/users', { username: `timed${i}`, password: 'correct horse' });
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Interleaved, so that drift on a shared machine hits both alike.
      let t = performance.now();
      expect((await api.post('/api/login', { username: `ghost${i}`, password: 'correct horse' })).status).to.equal(401);
      unknown.push(performance.now() - t);
      t = performance.now();
      expect((await api.post('/api/login', { username: `timed${i}`, password: 'wrong horse' })).status).to.equal(401);
      wrong.push(performance.now() - t);
    }
    const [u, w] = [median(unknown), median(wrong)];
    console.log(`      medians: unknown user ${u.toFixed(1)} ms, wrong password ${w.toFixed(1)} ms, ratio ${(Math.max(u, w) / Math.min(u, w)).toFixed(2)}`);
    expect(Math.max(u, w) / Math.min(u, w), `unknown ${u.toFixed(1)} ms, wrong ${w.toFixed(1)} ms`).to.be.below(1.5);
    // Both really hashed: argon2id at 19 MiB takes milliseconds, not microseconds.
    expect(Math.min(u, w)).to.be.above(5);
  });
});
