/**
 * Debian's Chromium for the end-to-end tests, driven by playwright-core (never a downloaded
 * browser): one way to find it, skip without it, launch it on a fresh profile, and clean up.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from './keygate.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots go here (not in git). */
export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** In a `before` hook: skips the suite with a notice when Chromium is absent; under CI=true that fails instead. */
export function requireChromium(context: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  if (process.env.CI === 'true') throw new Error(`Chromium is missing at ${CHROMIUM}: CI must install it (apt-get install chromium)`);
  console.log(`    (skipped: no Chromium at ${CHROMIUM}; install it with: apt-get install chromium)`);
  context.skip();
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** The page's console errors (a CSP violation shows up here). */
  consoleErrors: string[];
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Chromium on a fresh profile, phone-sized, with its first page. */
export async function openChromium(): Promise<Browser> {
  const profile = tempDir('keygate-chromium-');
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 390, height: 844 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context, page, consoleErrors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
