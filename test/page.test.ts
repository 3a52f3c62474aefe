import { expect } from 'chai';
import { startTestKeygate, type TestKeygate } from './helpers/keygate.js';

describe('GET / and the browser assets', () => {
  let kg: TestKeygate;
  before(async () => {
    kg = await startTestKeygate();
  });
  after(() => kg.stop());

  it('serves the page under a strict Content-Security-Policy', async () => {
    const res = await fetch(`${kg.url}/`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).to.include("default-src 'none'");
    expect(csp).to.include("script-src 'self'");
    expect(csp).to.include(`connect-src 'self' ws://127.0.0.1:${kg.port}`);
    expect(csp).not.to.include('unsafe');
    const html = await res.text();
    expect(html).to.include('<script type="module" src="/assets/app.js"></script>');
    expect(html).not.to.match(/<script>|\sstyle="|\son\w+="/); // nothing inline
  });

  it('serves the page script, the stylesheet, the icon and the ESM client bundle', async () => {
    for (const [path, type] of [
      ['/assets/app.js', 'text/javascript; charset=utf-8'],
      ['/assets/style.css', 'text/css; charset=utf-8'],
      ['/favicon.ico', 'image/svg+xml'],
      ['/assets/keygate-client.js', 'text/javascript; charset=utf-8'],
    ] as const) {
      const res = await fetch(kg.url + path);
      expect(res.status, path).to.equal(200);
      expect(res.headers.get('content-type'), path).to.equal(type);
    }
    const bundle = await (await fetch(`${kg.url}/assets/keygate-client.js`)).text();
    expect(bundle).to.match(/export\s*\{[^}]*loginWithChallenge/);
    expect(bundle).not.to.match(/\brequire\(/);
  });
});
