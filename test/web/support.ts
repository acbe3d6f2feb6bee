/**
 * What the web app's browser suites share: one real server and one real Chromium per suite, a
 * fresh browser context per test, and helpers that wait for conditions in the page (never for a
 * fixed time). Also axe-core (WCAG 2.1 A and AA rules) and the screenshots of each screen.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BROWSER_SKIP, launchBrowser, openPage, type TestPage } from '../support/browser.js';
import { ADMIN_KEY, ELIZA, createSession, startServer, type TestServer } from '../support/server.js';
import type { PageDocument, PageStorage } from './page-dom.js';
import type { MessageView } from '../../src/domain/message.js';

export const S = '/api/messaging/sessions';

// The functions given to page.evaluate and page.waitForFunction run in the page: these are the
// page's globals (the project compiles without the DOM library).
declare const document: PageDocument, sessionStorage: PageStorage;

export interface WebSuite {
  readonly server: TestServer;
  readonly browser: Browser;
}

/** Starts a server and a browser for the suite; closes both after it. */
export function webSuite(env: Record<string, string> = {}): WebSuite {
  const suite = {} as { server: TestServer; browser: Browser };
  before(async () => {
    if (BROWSER_SKIP) return;
    suite.server = await startServer(env);
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.close();
  });
  return suite;
}

/** A browser test; skipped, with the reason, when there is no Chromium. */
export function it(name: string, fn: () => Promise<void>): void {
  test(name, { skip: BROWSER_SKIP }, fn);
}

export interface PageOptions {
  /** Runs before the page loads (e.g. installing Playwright's clock). */
  setup?: (page: Page) => Promise<void>;
  /** Answer to a question asked while the page loads (a session link asks). */
  dialog?: 'accept' | 'dismiss';
}

/** A fresh browser context on the app; closed when `fn` is done. Checks for page errors after. */
export async function withPage(
  browser: Browser,
  base: string,
  hash: string,
  fn: (t: TestPage) => Promise<void>,
  options: PageOptions = {},
): Promise<void> {
  const t = await openPage(browser, base);
  try {
    await options.setup?.(t.page);
    const asked = options.dialog ? t.page.waitForEvent('dialog') : undefined;
    const loaded = t.page.goto(`/${hash}`);
    if (asked) {
      // The question stops the page's script: answer it before waiting for the load.
      const dialog = await asked;
      await dialog[options.dialog!]();
    }
    await loaded;
    await t.page.locator('html[data-ready="true"]').waitFor({ state: 'attached' });
    await fn(t);
    assert.deepEqual(t.errors, [], 'no uncaught errors in the page');
    assert.deepEqual(
      t.consoleErrors.filter((text) => /Content Security Policy|Refused to/i.test(text)),
      [],
      'nothing refused by the Content-Security-Policy',
    );
  } finally {
    await t.context.close();
  }
}

/** Answers the next dialog (`confirm`) the page opens while `action` runs; returns its text. */
export async function answerDialog(page: Page, answer: 'accept' | 'dismiss', action: () => Promise<unknown>): Promise<string> {
  const asked = page.waitForEvent('dialog');
  const acting = action();
  const dialog = await asked;
  const text = dialog.message();
  await dialog[answer]();
  await acting;
  return text;
}

export async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(([sel, want]) => document.querySelector(sel)?.textContent === want, [selector, text] as const);
}

/** Pastes the admin key: the sessions view opens. */
export async function signInWithKey(page: Page): Promise<void> {
  await page.fill('#api-key', ADMIN_KEY);
  await page.click('#use-key');
  await page.locator('#sessions').waitFor({ state: 'visible' });
}

/** Pastes the admin key, creates a session with ELIZA, waits for its live event stream. */
export async function createInPage(page: Page): Promise<string> {
  await signInWithKey(page);
  await page.click('#nav-new');
  await page.locator(`#agent option[value="${ELIZA}"]`).waitFor({ state: 'attached' });
  assert.equal(await page.inputValue('#agent'), ELIZA, 'ELIZA is picked by default');
  assert.match(await page.inputValue('#user-id'), /^[0-9a-f-]{36}$/);
  await page.click('#create');
  await page.locator('#session').waitFor({ state: 'visible' });
  await waitForText(page, '#stream-state', 'live');
  return (await page.textContent('#session-id'))!;
}

export async function typeAndSend(page: Page, text: string): Promise<void> {
  await page.fill('#message-input', text);
  await page.click('#send');
}

/** Types and sends a message, then waits for the agent's complete reply. */
export async function sendInPage(page: Page, text: string): Promise<void> {
  const replies = await page.locator('#messages .message.agent').count();
  await typeAndSend(page, text);
  await page.waitForFunction(
    (count) =>
      document.querySelector('#send').getAttribute('aria-disabled') !== 'true' &&
      document.querySelectorAll('#messages .message.agent:not(.streaming)').length === count,
    replies + 1,
  );
}

/** The shown messages, oldest first: [isAgent, text]. */
export function shownMessages(page: Page): Promise<Array<[boolean, string]>> {
  return page.$$eval('#messages .message[data-message-id]', (items) =>
    items.map((li) => [li.classList.contains('agent'), li.querySelector('.text')!.textContent ?? ''] as [boolean, string]),
  );
}

export async function storedMessages(server: TestServer, sessionId: string): Promise<MessageView[]> {
  const res = await server.request('GET', `${S}/${sessionId}/messages?limit=100`);
  assert.equal(res.status, 200, res.text);
  return res.body.messages;
}

/** Waits until the page's event stream has delivered every event stored for the session. */
export async function waitForEvents(page: Page, server: TestServer, sessionId: string): Promise<string> {
  const events = await server.app.store.eventsAfter(sessionId, 0, 10_000);
  const last = String(events[events.length - 1]?.seq ?? '');
  await page.waitForFunction((want) => sessionStorage.getItem('agent-sessions.lastEventId') === want, `${sessionId}:${last}`);
  return last;
}

/** One scheduler pass (what the background loop does); the types of the events it emitted for the session. */
export async function tick(server: TestServer, sessionId: string): Promise<string[]> {
  return (await server.app.scheduler.tick()).filter((e) => e.sessionId === sessionId).map((e) => e.type);
}

/** Creates the agent and a session with it; opens the session's token link (accepting the question), live. */
export async function withAgentSession(
  suite: WebSuite,
  agent: Record<string, unknown>,
  fn: (page: Page, sessionId: string) => Promise<void>,
): Promise<void> {
  const created = await suite.server.request('POST', '/api/agents', { body: agent });
  assert.equal(created.status, 201, created.text);
  const { sessionId, sessionToken } = await createSession(suite.server, { agentId: created.body.id });
  await withPage(
    suite.browser,
    suite.server.url,
    `#session=${sessionId}&token=${sessionToken}`,
    async ({ page }) => {
      await waitForText(page, '#stream-state', 'live');
      await fn(page, sessionId);
    },
    { dialog: 'accept' },
  );
}

// ---------------------------------------------------------------------------------------------
// Accessibility and screenshots

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: Array<{ target: string[]; failureSummary: string }>;
}

/** axe-core as the page has it once AXE_SOURCE has run there. */
interface Axe {
  run(
    context: PageDocument,
    options: { runOnly: { type: 'tag'; values: string[] }; resultTypes: string[] },
  ): Promise<{ violations: AxeViolation[] }>;
}

/**
 * axe-core's WCAG 2.1 A and AA rules on the page as it is now. axe is evaluated through the
 * browser's debugging protocol, not as a <script>: the page's Content-Security-Policy (rightly)
 * refuses inline scripts, and it stays on.
 */
async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === 'object'))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const { axe } = globalThis as unknown as { axe: Axe };
    const results = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  }, WCAG_21_AA);
}

export async function assertAccessible(page: Page, screen: string): Promise<void> {
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `axe-core (WCAG 2.1 AA) on the ${screen} screen:\n${JSON.stringify(violations, null, 2)}`);
}

/**
 * Where screenshots go: docs/screenshots/ with `npm run screenshots` (the README's images),
 * otherwise a temporary folder (they are taken all the same, so the screens are exercised).
 */
const SCREENSHOT_DIR = process.env.WEB_SCREENSHOTS_DIR ?? join(tmpdir(), 'agent-sessions-screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  return path;
}
