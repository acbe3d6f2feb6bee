/**
 * A real Chromium for the web app tests (playwright-core drives the system's browser; nothing is
 * downloaded). scripts/run-tests.mjs sets TEST_BROWSER=0 when Chromium is missing, and the
 * browser tests then skip themselves with BROWSER_SKIP as the reason.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** A reason to skip the browser tests, or false when they can run. */
export const BROWSER_SKIP: string | false =
  process.env.TEST_BROWSER === '0' || !existsSync(CHROMIUM_PATH)
    ? `Chromium not found at ${CHROMIUM_PATH}: the web app browser tests are SKIPPED`
    : false;

/**
 * --no-sandbox: the tests may run as root (CI containers), where Chromium's sandbox refuses.
 * The rest keep the browser quiet and local: no GPU, no update, sync or other background
 * traffic, no first-run set-up.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** Every request the page made, in order. */
  requests: Request[];
  /** Uncaught errors of the page's scripts. */
  errors: string[];
  /** Console errors (failed requests, Content-Security-Policy refusals, …). */
  consoleErrors: string[];
}

/** A fresh context (its own sessionStorage, localStorage, cookies) with one page. */
export async function openPage(browser: Browser, baseURL: string): Promise<TestPage> {
  const context = await browser.newContext({ baseURL });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const requests: Request[] = [];
  const errors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (request) => requests.push(request));
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  return { context, page, requests, errors, consoleErrors };
}
