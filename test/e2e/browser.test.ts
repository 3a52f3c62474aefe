/**
 * End to end in a real browser: Debian's Chromium driven by playwright-core (never a
 * downloaded browser). Skipped with a notice when Chromium is absent, except under CI=true.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestKeygate, tempDir, type TestKeygate } from '../helpers/keygate.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('the page in a real browser (Chromium)', function () {
  this.timeout(120_000);
  let kg: TestKeygate;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const consoleErrors: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`Chromium is missing at ${CHROMIUM}: CI must install it (apt-get install chromium)`);
      console.log(`    (skipped: no Chromium at ${CHROMIUM}; install it with: apt-get install chromium)`);
      this.skip();
    }
    kg = await startTestKeygate({ RATE_LIMITS: 'off' });
    profile = tempDir('keygate-chromium-');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 390, height: 844 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await context?.close();
    await kg?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const text = async (selector: string) => (await page.textContent(selector))?.trim() ?? '';

  async function keypairLogin(): Promise<string> {
    await page.click('#kp-login');
    await page.waitForFunction(() => document.querySelector('#subject')?.textContent?.startsWith('bbaarei'));
    return text('#subject');
  }

  it('logs in with a key pair made in the browser; the subject is the identity shown', async () => {
    await page.goto(kg.url);
    await page.waitForFunction(() => document.querySelector('#pubkey')?.textContent?.startsWith('bbaarei'));
    const pubkey = await text('#pubkey');
    expect(pubkey).to.match(/^bbaarei[a-z2-7]{52}$/);
    expect(await keypairLogin()).to.equal(pubkey);
    expect(await text('#status')).to.equal('Logged in with your key pair.');
    expect(await text('#countdown')).to.match(/^(\d+ h )?\d+ min \d\d s$/);
    expect(JSON.parse(await page.textContent('#claims') ?? '{}')).to.include({ sub: pubkey, iss: 'keygate' });
  });

  it('keeps the identity across a reload and logs in again with it', async () => {
    const before = await text('#pubkey');
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#pubkey')?.textContent?.startsWith('bbaarei'));
    expect(await text('#pubkey')).to.equal(before);
    expect(await keypairLogin()).to.equal(before);
  });

  it('registers, logs in and logs out a password user', async () => {
    await page.fill('#username', 'browser_user');
    await page.fill('#password', 'correct horse battery');
    await page.click('#pw-register');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Registered'));
    expect(await text('#status')).to.equal('Registered browser_user. Now log in.');
    await page.click('#pw-login');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Logged in with your password.');
    const user = await kg.core.store.getAccountByUsername('browser_user');
    expect(await text('#subject')).to.equal(user!.id);
    await page.screenshot({ path: `${ARTIFACTS}page-phone.png`, fullPage: true });
    await page.click('#logout');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Logged out'));
    expect(await page.isHidden('#session')).to.equal(true);
  });

  it('shows a wrong password as a readable error', async () => {
    await page.fill('#username', 'browser_user');
    await page.fill('#password', 'not the password');
    await page.click('#pw-login');
    await page.waitForSelector('#error:not([hidden])');
    expect(await text('#error')).to.equal('Invalid username or password.');
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.screenshot({ path: `${ARTIFACTS}page-desktop.png`, fullPage: true });
  });

  it('breaks no Content-Security-Policy rule', () => {
    expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).to.deep.equal([]);
  });

  it('shows a refused origin and a server that is down as readable errors', async () => {
    const strict = await startTestKeygate({ ALLOWED_ORIGINS: 'https://app.example.com' });
    try {
      await page.goto(strict.url);
      await page.waitForFunction(() => document.querySelector('#pubkey')?.textContent?.startsWith('bbaarei'));
      await page.click('#kp-login');
      await page.waitForSelector('#error:not([hidden])');
      expect(await text('#error')).to.equal(`Origin ${strict.url} is not allowed.`);
      await page.fill('#username', 'someone');
      await page.fill('#password', 'whatever pass');
      await page.click('#pw-login');
      await page.waitForFunction((o) => document.querySelector('#error')?.textContent === `Origin ${o} is not allowed.`, strict.url);
    } finally {
      await strict.stop();
    }
    await page.click('#kp-login');
    await page.waitForFunction(() => document.querySelector('#error')?.textContent?.startsWith('Cannot reach the server'));
    expect(await text('#error')).to.equal(`Cannot reach the server at ${new URL(strict.url).origin}: it may be down.`);
  });
});
