/** The logger's second line of defence: secret fields are redacted wherever keygate's lines can hold them. */
import { expect } from 'chai';
import { SECRET_CONTAINERS, createLogger, SECRET_FIELDS } from '../src/log.js';
import { runScript } from './helpers/cli.js';
import { LogScan } from './helpers/log-scan.js';

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger('debug', { write: (line: string) => void lines.push(line) }) };
}

describe('logger redaction', () => {
  it('redacts every secret field at the top level and inside every object keygate logs', () => {
    const { lines, log } = capture();
    let n = 0;
    const secrets: string[] = [];
    for (const container of SECRET_CONTAINERS) {
      for (const field of SECRET_FIELDS) {
        const secret = `s3cret-${n++}-value`;
        secrets.push(secret);
        const leaf = { [field]: secret, kept: 'visible' };
        const fields = container === '' ? leaf : container.slice(0, -1).split('.').reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), leaf);
        log.info(fields, 'a line');
      }
    }
    const text = lines.join('');
    for (const secret of secrets) expect(text, secret).to.not.include(secret);
    expect(text.match(/\[redacted\]/g)).to.have.length(secrets.length);
    expect(text.match(/"kept":"visible"/g), 'the other fields stay').to.have.length(secrets.length);
  });

  it('leaves the hot lines whole: a grant.issued line keeps every field', () => {
    const { lines, log } = capture();
    const event = { event: 'grant.issued', method: 'keypair', kind: 'login', door: 'websocket', sub: 'bbaa', jti: 'j-1', kid: 'k-1', exp: 1 };
    log.info(event, 'grant issued');
    expect(JSON.parse(lines[0]!)).to.include(event);
  });

  it('redacts an error\'s own secret fields (a driver error carrying its configuration)', () => {
    const { lines, log } = capture();
    const err = Object.assign(new Error('connect failed'), { config: { password: 'pg-password-1' } });
    log.error({ err }, 'store failed');
    expect(lines.join('')).to.not.include('pg-password-1');
    expect(JSON.parse(lines[0]!).err.message).to.equal('connect failed');
  });
});

describe('the test run\'s log scan (test/helpers/log-scan.ts)', () => {
  it('finds a token, a refresh token or a password in a log, and passes a clean one', () => {
    const scan = new LogScan();
    const lines = ['{"msg":"grant issued","sub":"bbaa"}'];
    scan.collect(() => lines.join('\n'));
    scan.noteIn(JSON.stringify({ userAuth: { token: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' }, refreshToken: 'rt_abcdefghijklmnop' }));
    scan.noteIn(JSON.stringify({ username: 'dave', password: 'correct horse battery' }));
    expect(scan.scan()).to.deep.equal({ lines: 1, secrets: 3 });
    for (const leak of ['{"token":"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"}', 'refresh rt_abcdefghijklmnop spent', '{"password":"correct horse battery"}']) {
      lines.push(leak);
      expect(() => scan.scan(), leak).to.throw(/1 secrets reached a log/);
      lines.pop();
    }
  });
});

describe('log destination', () => {
  it('writes each line before the log call returns, so a kill -9 right after it loses nothing', async function () {
    this.timeout(30_000);
    const result = await runScript('test/helpers/log-then-kill.ts', { UV_THREADPOOL_SIZE: '1' }, []);
    expect(result.signal).to.equal('SIGKILL');
    const lines = result.stdout.split('\n').filter((l) => l !== '');
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0]!)).to.include({ event: 'test.line', msg: 'written before the kill', level: 30 });
  });
});
