/**
 * Hosted login requests end to end in a real browser (Debian's Chromium driven by
 * playwright-core, never a downloaded browser): a tiny app on another port asks keygate for a
 * login request and sends the browser to keygate's page, the user logs in there, the page
 * completes the request and sends the browser back, and the app's backend reads who logged in,
 * once. Skipped with a notice when Chromium is absent, except under CI=true.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { KeygateAdmin, KeygateError, type LoginDetails, type LoginRequest } from '../../src/client/admin.js';
import { ARTIFACTS, openChromium, requireChromium, type Browser } from '../helpers/chromium.js';
import { freshDatabase, postgres, redis, requireEngine } from '../helpers/engines.js';
import { startTestKeygate, TEST_API_KEY, TEST_API_SECRET, type TestKeygate } from '../helpers/keygate.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The app: GET /start?roles=a,b[&all=1] asks keygate for a login request and sends the browser
 * to its loginUrl; GET /back?t=<token> reads the login details and greets the user, or shows the
 * refusal's code with its status.
 */
class TestApp {
  readonly started: LoginRequest[] = [];
  readonly redeemed: LoginDetails[] = [];
  readonly refusals: Array<{ status: number; code: string }> = [];
  admin: KeygateAdmin | undefined;
  /** Where the app reads the details (another instance, in the multi-instance test); `admin` when unset. */
  redeemer: KeygateAdmin | undefined;
  private server: Server | undefined;
  origin = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req.url ?? '/').then(
        ({ status, headers, body }) => {
          res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(String(err));
        },
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(path: string): Promise<{ status: number; headers?: Record<string, string>; body: string }> {
    const url = new URL(path, this.origin);
    if (!this.admin) throw new Error('the app has no keygate yet');
    if (url.pathname === '/start') {
      const roles = url.searchParams.get('roles');
      const request = await this.admin.requestLogin({
        postLoginURL: `${this.origin}/back?t={token}`,
        returnTo: '/reports',
        ...(roles ? { requiredRoles: roles.split(',') } : {}),
        ...(url.searchParams.get('all') === '1' ? { requireAllRoles: true } : {}),
      });
      this.started.push(request);
      return { status: 302, headers: { location: request.loginUrl }, body: '' };
    }
    if (url.pathname === '/back') {
      try {
        const details = await (this.redeemer ?? this.admin).getLoginDetails(url.searchParams.get('t') ?? '');
        this.redeemed.push(details);
        return { status: 200, body: `<!doctype html><title>app</title><p>Welcome <span id="user">${escapeHtml(details.userId)}</span></p>` };
      } catch (err) {
        if (!(err instanceof KeygateError)) throw err;
        this.refusals.push({ status: err.status, code: err.code });
        return { status: err.status, body: `<!doctype html><title>app</title><p>Refused: <span id="refused">${escapeHtml(err.code)}</span></p>` };
      }
    }
    return { status: 404, body: 'not found' };
  }

  /** The token of the latest login request the app started. */
  lastToken(): string {
    const last = this.started.at(-1);
    if (!last) throw new Error('the app started no login request');
    return last.token;
  }
}

describe('hosted login requests in a real browser (Chromium)', function () {
  this.timeout(120_000);
  const app = new TestApp();
  let kg: TestKeygate;
  let admin: KeygateAdmin;
  let browser: Browser;
  let page: Page;

  before(async function () {
    requireChromium(this);
    await app.start(); // first, so that keygate can allow its origin
    kg = await startTestKeygate({ RATE_LIMITS: 'off', LOGIN_REDIRECT_ORIGINS: app.origin });
    admin = new KeygateAdmin({ url: kg.url, apiKey: TEST_API_KEY, apiSecret: TEST_API_SECRET });
    app.admin = admin;
    browser = await openChromium();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await kg?.stop();
    await app.stop();
  });

  const text = async (selector: string) => (await page.textContent(selector))?.trim() ?? '';
  const onKeygate = () => new URL(page.url()).origin === new URL(kg.url).origin;
  const waitForBanner = (origin: string) =>
    page.waitForFunction((o) => document.querySelector('#login-request:not([hidden]) #login-request-origin')?.textContent === o, origin);
  const waitForApp = () => page.waitForURL((u) => u.origin === app.origin && u.pathname === '/back');

  async function submitPassword(username: string, password: string): Promise<void> {
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('#pw-login');
  }

  /** A KeygateError's status and code from a call expected to be refused. */
  async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string }> {
    try {
      await call;
    } catch (err) {
      if (err instanceof KeygateError) return { status: err.status, code: err.code };
      throw err;
    }
    throw new Error('the call was not refused');
  }

  /** The page says `message`, stays on keygate (no redirect within 300 ms), and the app's request is still pending. */
  async function expectRefusedOnPage(message: string, token: string): Promise<void> {
    await page.waitForSelector('#error:not([hidden])');
    expect(await text('#error')).to.equal(message);
    await page.waitForTimeout(300);
    expect(onKeygate()).to.equal(true);
    expect(await refusal(admin.getLoginDetails(token))).to.deep.equal({ status: 409, code: 'login_pending' });
  }

  it('a password login on keygate\'s page returns the user to the app, which reads who logged in once', async () => {
    const user = await kg.core.users.register('report_reader', 'long password here', ['reports']);
    await page.goto(`${app.origin}/start`);
    expect(onKeygate()).to.equal(true);
    const token = app.lastToken();
    const pageId = new URL(page.url()).searchParams.get('loginRequest');
    expect(pageId, 'the page gets a page id, never the token').to.match(/^[\w-]{43}$/).and.not.equal(token);
    await waitForBanner(app.origin);
    expect(await text('#login-request-title')).to.equal(`Log in to continue to ${app.origin}`);
    expect(await page.isHidden('#login-request-roles-row')).to.equal(true);
    await page.screenshot({ path: `${ARTIFACTS}page-login-request.png`, fullPage: true });

    await submitPassword('report_reader', 'long password here');
    await waitForApp();
    expect(new URL(page.url()).searchParams.get('t')).to.equal(token);
    expect(await text('#user')).to.equal(user.id);
    expect(app.redeemed).to.have.length(1);
    const details = app.redeemed[0]!;
    expect(details).to.deep.include({ userId: user.id, username: 'report_reader', publicKeys: [], roles: ['reports'], superUser: false, isDuplicateRequest: false });
    expect(details.request).to.deep.equal({
      postLoginURL: `${app.origin}/back?t={token}`, returnTo: '/reports', requiredRoles: [], requireAllRoles: false,
    });

    // The same redirect again (a reload, a replayed URL): the details are read once only.
    const again = await page.reload();
    expect(again?.status()).to.equal(410);
    expect(await text('#refused')).to.equal('already_read');
    expect(app.refusals.at(-1)).to.deep.equal({ status: 410, code: 'already_read' });
    expect(app.redeemed).to.have.length(1);
    const duplicate = await admin.getLoginDetails(token, { allowDuplicateRequest: true });
    expect(duplicate).to.deep.include({ userId: user.id, isDuplicateRequest: true });
  });

  it('says so when the login request was completed already, and stays', async () => {
    const { loginUrl } = app.started.at(-1)!;
    await page.goto(loginUrl);
    await waitForBanner(app.origin);
    await submitPassword('report_reader', 'long password here');
    await page.waitForSelector('#error:not([hidden])');
    expect(await text('#error')).to.equal('This login request was completed already. Go back to the app and start again.');
    expect(await text('#login-request-note')).to.equal('This login request was completed already. Go back to the app and start again.');
    expect(onKeygate()).to.equal(true);
    expect(await text('#status')).to.equal('Logged in with your password.'); // the login itself worked
  });

  it('refuses a user without the required roles and stays; another account that has them continues', async () => {
    await kg.core.users.register('only_reports', 'long password here', ['reports']);
    const boss = await kg.core.users.register('app_boss', 'long password here', ['admin', 'reports']);
    await page.goto(`${app.origin}/start?roles=admin,reports&all=1`);
    const token = app.lastToken();
    await waitForBanner(app.origin);
    expect(await page.isVisible('#login-request-roles-row')).to.equal(true);
    expect(await text('#login-request-roles-row')).to.equal('It requires all of the roles: admin, reports.');

    await submitPassword('only_reports', 'long password here');
    await expectRefusedOnPage('This app requires all of the roles: admin, reports. Log in with another account to continue.', token);
    const redeemedBefore = app.redeemed.length;

    await submitPassword('app_boss', 'long password here');
    await waitForApp();
    expect(await text('#user')).to.equal(boss.id);
    expect(app.redeemed).to.have.length(redeemedBefore + 1);
    expect(app.redeemed.at(-1)).to.deep.include({ userId: boss.id, username: 'app_boss', roles: ['admin', 'reports'], isDuplicateRequest: false });
    expect(app.redeemed.at(-1)!.request).to.deep.include({ returnTo: '/reports', requiredRoles: ['admin', 'reports'], requireAllRoles: true });
  });

  it('shows the roles_missing message for any-of roles and does not redirect', async () => {
    await page.goto(`${app.origin}/start?roles=admin`);
    const token = app.lastToken();
    await waitForBanner(app.origin);
    expect(await text('#login-request-roles-row')).to.equal('It requires one of the roles: admin.');
    await submitPassword('report_reader', 'long password here');
    await expectRefusedOnPage('This app requires one of the roles: admin. Log in with another account to continue.', token);
  });

  it('a key pair login on the page completes a request too; the details carry the browser\'s key', async () => {
    await page.goto(`${app.origin}/start`);
    await waitForBanner(app.origin);
    await page.waitForFunction(() => document.querySelector('#pubkey')?.textContent?.startsWith('bbaarei'));
    const pubkey = await text('#pubkey');
    await page.click('#kp-login');
    await waitForApp();
    const details = app.redeemed.at(-1)!;
    expect(details.publicKeys).to.include(pubkey);
    expect(details).to.deep.include({ username: null, isDuplicateRequest: false });
    expect(details.request).to.deep.include({ returnTo: '/reports' });
    expect(await text('#user')).to.equal(details.userId);
    expect((await kg.core.store.getAccount(details.userId))?.publicKeys).to.include(pubkey);
  });

  it('shows an unknown or expired login request, and the page still logs in without leaving', async () => {
    await page.goto(`${kg.url}/?loginRequest=${'A'.repeat(43)}`);
    await page.waitForSelector('#login-request:not([hidden])');
    await page.waitForSelector('#error:not([hidden])');
    const gone = 'This login request has expired or is unknown. Go back to the app and start again.';
    expect(await text('#error')).to.equal(gone);
    expect(await text('#login-request-note')).to.equal(gone);
    expect(await page.isHidden('#login-request-title')).to.equal(true);
    await submitPassword('report_reader', 'long password here');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Logged in with your password.');
    await page.waitForSelector('#account:not([hidden])');
    expect(onKeygate()).to.equal(true);
    expect(await text('#login-request-note')).to.equal(gone);
  });

  it('shows no banner without a login request', async () => {
    await page.goto(kg.url);
    await page.waitForFunction(() => document.querySelector('#pubkey')?.textContent?.startsWith('bbaarei'));
    expect(await page.isHidden('#login-request')).to.equal(true);
    expect(await page.isHidden('#error')).to.equal(true);
  });

  it('breaks no Content-Security-Policy rule', () => {
    expect(browser.consoleErrors.filter((e) => /Content Security Policy/i.test(e))).to.deep.equal([]);
  });
});

describe('hosted login requests in a real browser, across two instances on PostgreSQL + Redis', function () {
  this.timeout(120_000);
  const app = new TestApp();
  let servers: TestKeygate[] = [];
  let browser: Browser | undefined;

  before(async function () {
    requireChromium(this);
    await requireEngine(this, postgres);
    await requireEngine(this, redis);
    await app.start();
    const env = {
      RATE_LIMITS: 'off', LOGIN_REDIRECT_ORIGINS: app.origin,
      DATABASE_URL: await freshDatabase('lre2e'), REDIS_URL: (await redis()).url, REDIS_PREFIX: `lre2e${Date.now().toString(36)}:`,
    };
    servers = [await startTestKeygate(env), await startTestKeygate(env)];
    const admin = (i: number) => new KeygateAdmin({ url: servers[i]!.url, apiKey: TEST_API_KEY, apiSecret: TEST_API_SECRET });
    app.admin = admin(0);
    app.redeemer = admin(1);
    browser = await openChromium();
  });

  after(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.stop()));
    await app.stop();
  });

  it('is created and completed on A, read once on B, refused as already read on A', async () => {
    const user = await servers[0]!.core.users.register('two_instance_reader', 'long password here', ['reports']);
    const page = browser!.page;
    await page.goto(`${app.origin}/start?roles=reports`);
    await page.waitForFunction((o) => document.querySelector('#login-request:not([hidden]) #login-request-origin')?.textContent === o, app.origin);
    await page.fill('#username', 'two_instance_reader');
    await page.fill('#password', 'long password here');
    await page.click('#pw-login');
    await page.waitForURL((u) => u.origin === app.origin && u.pathname === '/back');
    expect((await page.textContent('#user'))?.trim()).to.equal(user.id);
    expect(app.redeemed.at(-1)).to.deep.include({ userId: user.id, roles: ['reports'], isDuplicateRequest: false });
    const second = await app.admin!.getLoginDetails(app.lastToken()).catch((e: unknown) => e);
    expect(second).to.include({ status: 410, code: 'already_read' });
  });
});
