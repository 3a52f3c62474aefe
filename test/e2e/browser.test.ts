/**
 * End to end in a real browser: Debian's Chromium driven by playwright-core (never a
 * downloaded browser). Skipped with a notice when Chromium is absent, except under CI=true.
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { ARTIFACTS, openChromium, requireChromium, type Browser } from '../helpers/chromium.js';
import { startTestKeygate, type TestKeygate } from '../helpers/keygate.js';

describe('the page in a real browser (Chromium)', function () {
  this.timeout(120_000);
  let kg: TestKeygate;
  let browser: Browser;
  let page: Page;

  before(async function () {
    requireChromium(this);
    kg = await startTestKeygate({ RATE_LIMITS: 'off' });
    browser = await openChromium();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await kg?.stop();
  });

  const text = async (selector: string) => (await page.textContent(selector))?.trim() ?? '';

  async function keypairLogin(): Promise<string> {
    await page.click('#kp-login');
    await page.waitForFunction(() => document.querySelector('#subject')?.textContent?.startsWith('bbaarei'));
    return text('#subject');
  }

  const waitForPubkey = () => page.waitForFunction(() => document.querySelector('#pubkey')?.textContent?.startsWith('bbaarei'));

  async function passwordLogin(username: string, password: string): Promise<void> {
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('#pw-login');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Logged in with your password.');
  }

  /** The account box once it shows the given id. */
  const waitForAccount = (id: string) => page.waitForFunction((i) => document.querySelector('#account:not([hidden]) #account-id')?.textContent === i, id);
  const linkedKeys = () => page.$$eval('#account-keys li[data-pubkey]', (items) => items.map((li) => li.getAttribute('data-pubkey')));

  it('logs in with a key pair made in the browser; the subject is the identity shown', async () => {
    await page.goto(kg.url);
    await page.waitForFunction(() => document.querySelector('#pubkey')?.textContent?.startsWith('bbaarei'));
    const pubkey = await text('#pubkey');
    expect(pubkey).to.match(/^bbaarei[a-z2-7]{52}$/);
    expect(await keypairLogin()).to.equal(pubkey);
    expect(await text('#status')).to.equal('Logged in with your key pair.');
    expect(await text('#countdown')).to.match(/^(\d+ h )?\d+ min \d\d s$/);
    expect(JSON.parse(await page.textContent('#claims') ?? '{}')).to.include({ sub: pubkey, iss: 'keygate' });
    await waitForAccount(pubkey); // the key's first login made it an account of its own
    expect(await linkedKeys()).to.deep.equal([pubkey]);
    expect(await text('#account-keys li.this-browser code')).to.equal(pubkey);
    expect(await page.isHidden('#account-username-row')).to.equal(true);
    expect(await page.isHidden('#link-key')).to.equal(true);
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
    await waitForAccount(user!.id);
    expect(await text('#account-username')).to.equal('browser_user');
    await page.screenshot({ path: `${ARTIFACTS}page-phone.png`, fullPage: true });
    await page.click('#logout');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Logged out'));
    expect(await page.isHidden('#session')).to.equal(true);
    expect(await page.isHidden('#account')).to.equal(true);
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

  it('links this browser\'s key to a password account in one click; a key pair login then gets the account', async () => {
    const user = await kg.core.users.register('linking_user', 'correct horse battery', ['editor', 'viewer']);
    await page.goto(kg.url);
    await waitForPubkey();
    // This browser's key logged in on its own above, which made it an account of its own: start from a new identity.
    const previous = await text('#pubkey');
    await page.click('#kp-new');
    await page.waitForFunction((p) => {
      const shown = document.querySelector('#pubkey')?.textContent ?? '';
      return shown.startsWith('bbaarei') && shown !== p;
    }, previous);
    const pubkey = await text('#pubkey');

    await passwordLogin('linking_user', 'correct horse battery');
    await waitForAccount(user.id);
    expect(await text('#account-username')).to.equal('linking_user');
    expect(await text('#account-roles')).to.equal('editor, viewer');
    expect(await linkedKeys()).to.deep.equal([]);
    expect(await text('#account-keys')).to.equal('No key linked yet.');

    await page.click('#link-key');
    await page.waitForSelector('#account-keys li.this-browser');
    expect(await linkedKeys()).to.deep.equal([pubkey]);
    expect(await text('#account-keys li.this-browser code')).to.equal(pubkey);
    expect(await page.isHidden('#link-key')).to.equal(true);
    expect(await text('#status')).to.equal('Linked this browser\'s key: its key pair logins now get this account.');
    expect(await page.isHidden('#error')).to.equal(true);
    expect((await kg.core.store.getAccount(user.id))?.publicKeys).to.deep.equal([pubkey]);
    await page.screenshot({ path: `${ARTIFACTS}page-account.png`, fullPage: true });

    // The same browser, so the same stored identity: its key pair login gets the account.
    await page.reload();
    await waitForPubkey();
    expect(await text('#pubkey')).to.equal(pubkey);
    await page.click('#kp-login');
    await page.waitForFunction((id) => document.querySelector('#subject')?.textContent === id, user.id);
    expect(await text('#status')).to.equal('Logged in with your key pair.');
    expect(JSON.parse(await page.textContent('#claims') ?? '{}')).to.include({ sub: user.id, pubkey });
    await waitForAccount(user.id);
    expect(await text('#account-username')).to.equal('linking_user');
    expect(await text('#account-roles')).to.equal('editor, viewer');
    expect(await linkedKeys()).to.deep.equal([pubkey]);
    expect(await page.isHidden('#link-key')).to.equal(true);
    expect(await kg.core.store.getAccount(pubkey)).to.equal(undefined); // no account of its own
  });

  it('says so when this browser\'s key belongs to another account', async () => {
    const other = await kg.core.users.register('other_user', 'correct horse battery');
    await page.goto(kg.url);
    await waitForPubkey();
    await passwordLogin('other_user', 'correct horse battery');
    await waitForAccount(other.id);
    expect(await text('#account-roles')).to.equal('none');
    await page.click('#link-key');
    await page.waitForSelector('#error:not([hidden])');
    expect(await text('#error')).to.match(/^This browser's key already belongs to another account/);
    expect(await linkedKeys()).to.deep.equal([]);
    expect(await page.isVisible('#link-key')).to.equal(true);
    expect((await kg.core.store.getAccount(other.id))?.publicKeys).to.deep.equal([]);
  });

  it('breaks no Content-Security-Policy rule', () => {
    expect(browser.consoleErrors.filter((e) => /Content Security Policy/i.test(e))).to.deep.equal([]);
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
