/**
 * Every screen of the web app in a real Chromium: axe-core's WCAG 2.1 A and AA rules report
 * nothing, a screenshot is saved (docs/screenshots/ with `npm run screenshots`), hostile text in
 * agent names, metadata and messages is shown as text, and the whole flow works with the
 * keyboard alone, without the focus ever falling back to the page.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Page } from 'playwright-core';
import { MINUTE } from '../support/clock.js';
import { ADMIN_KEY, createSession, withServer } from '../support/server.js';
import {
  S,
  answerDialog,
  assertAccessible,
  it,
  screenshot,
  sendInPage,
  signInWithKey,
  waitForText,
  webSuite,
  withPage,
} from './support.js';
import type { PageDocument, PageMutationObserver, PageWindow } from './page-dom.js';

declare const document: PageDocument, window: PageWindow, MutationObserver: PageMutationObserver;

const suite = webSuite();
const U1 = '11111111-1111-4111-8111-111111111111';
const HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">Mallory';
const HOSTILE_METADATA = { note: '<script>window.__pwned=2</script>', '<b>key</b>': '<i onmouseover="window.__pwned=3">v</i>' };

/** Nothing hostile became markup or ran. */
async function assertInert(page: Page): Promise<void> {
  const found = await page.evaluate(() => ({
    images: document.images.length,
    scripts: document.scripts.length,
    injected: document.querySelectorAll('main b, main i, main script, main img').length,
    pwned: window.__pwned,
  }));
  assert.deepEqual(found, { images: 0, scripts: 1, injected: 0, pwned: undefined });
}

/** The element with the focus: never the page itself. */
async function focused(page: Page): Promise<string> {
  const id = await page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return 'BODY';
    return el.id || `${el.tagName.toLowerCase()}[${el.getAttribute('aria-label') ?? el.textContent.trim()}]`;
  });
  assert.notEqual(id, 'BODY', 'the focus is never lost to the page');
  return id;
}

/** Presses Tab (or Shift+Tab) until `selector` has the focus, as a keyboard user would. */
async function tabTo(page: Page, selector: string, { backward = false } = {}): Promise<void> {
  for (let presses = 0; presses < 80; presses++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel), selector)) return;
    await page.keyboard.press(backward ? 'Shift+Tab' : 'Tab');
  }
  assert.fail(`${selector} cannot be reached with ${backward ? 'Shift+Tab' : 'Tab'}`);
}

describe('every screen', () => {
  it('credentials, sessions, new session, chat, warning and final states: axe-clean, hostile text inert, screenshots', async () => {
    await withServer(async (server) => {
      const mallory = await server.request('POST', '/api/agents', { body: { name: HOSTILE_NAME, provider: { type: 'eliza' } } });
      assert.equal(mallory.status, 201);
      for (let i = 0; i < 3; i++) {
        await createSession(server, { userId: U1 });
        server.clock.advance(1000);
      }
      const hostile = await createSession(server, { userId: U1, agentId: mallory.body.id, metadata: HOSTILE_METADATA });
      await server.request('POST', `${S}/${hostile.sessionId}/messages`, {
        body: { content: '<script>window.__pwned=4</script> Hello?', transport: 'http' },
      });

      await withPage(suite.browser, server.url, '', async ({ page }) => {
        await page.locator('#credentials').waitFor({ state: 'visible' });
        await assertAccessible(page, 'credentials');
        await screenshot(page, 'credentials');

        await signInWithKey(page);
        await page.locator(`tr[data-session-id="${hostile.sessionId}"]`).waitFor();
        await page.locator('#sessions-rows tr[data-live="true"]').first().waitFor({ state: 'attached' });
        assert.equal(await page.textContent(`tr[data-session-id="${hostile.sessionId}"] > :nth-child(2)`), HOSTILE_NAME);
        assert.equal(
          await page.getAttribute(`tr[data-session-id="${hostile.sessionId}"] .metadata`, 'title'),
          JSON.stringify(HOSTILE_METADATA),
        );
        assert.equal(await page.locator(`#filter-agent option[value="${mallory.body.id}"]`).textContent(), HOSTILE_NAME);
        await assertInert(page);
        await assertAccessible(page, 'sessions');
        await screenshot(page, 'sessions');

        await page.click('#nav-new');
        await page.locator(`#agent option[value="${mallory.body.id}"]`).waitFor({ state: 'attached' });
        assert.equal(await page.locator(`#agent option[value="${mallory.body.id}"]`).textContent(), `${HOSTILE_NAME} (eliza)`);
        await assertAccessible(page, 'new session');
        await screenshot(page, 'new-session');

        // The hostile session in the chat view, opened from the list with the key.
        await page.click('#nav-sessions');
        await page.click(`tr[data-session-id="${hostile.sessionId}"] [data-action="open"]`);
        await waitForText(page, '#stream-state', 'live');
        assert.equal(await page.textContent('#session-agent'), HOSTILE_NAME);
        await sendInPage(page, 'I am <b>not</b> bold & that is fine');
        await assertInert(page);
        await assertAccessible(page, 'chat');
        await screenshot(page, 'chat');

        // The warning banner (the last five minutes), then the expired state.
        server.clock.advance(26 * MINUTE);
        await server.app.scheduler.tick();
        await page.locator('#warning').waitFor({ state: 'visible' });
        await waitForText(page, '#announcer', 'This session expires in 4 minutes. Renew it to keep it open.');
        await assertAccessible(page, 'chat with a warning');
        await screenshot(page, 'chat-warning');

        server.clock.advance(5 * MINUTE);
        await server.app.scheduler.tick();
        await page.locator('#final').waitFor({ state: 'visible' });
        await assertAccessible(page, 'expired chat');
        await screenshot(page, 'chat-expired');
      });

      // Dark mode: the same colours checked against their dark backgrounds.
      await createSession(server, { userId: U1, metadata: { team: 'support' } });
      await withPage(suite.browser, server.url, '', async ({ page }) => {
        await page.emulateMedia({ colorScheme: 'dark' });
        await signInWithKey(page);
        await page.locator('#sessions-rows tr').first().waitFor();
        await assertAccessible(page, 'sessions (dark)');
        await screenshot(page, 'sessions-dark');
      });
    });
  });

  it('the warning is said once, not every second as its clock ticks', async () => {
    await withServer(async (server) => {
      const { sessionId, sessionToken } = await createSession(server);
      await withPage(
        suite.browser,
        server.url,
        `#session=${sessionId}&token=${sessionToken}`,
        async ({ page }) => {
          await waitForText(page, '#stream-state', 'live');
          // Count what the live region says from here on.
          await page.evaluate(() => {
            window.__said = [];
            new MutationObserver(() => {
              const text = document.querySelector('#announcer').textContent;
              if (text) window.__said.push(text);
            }).observe(document.querySelector('#announcer'), { childList: true, characterData: true, subtree: true });
          });
          server.clock.advance(25 * MINUTE);
          await server.app.scheduler.tick();
          await page.locator('#warning').waitFor({ state: 'visible' });
          const before = (await page.textContent('#warning-text'))!;
          // The banner's clock moves (the page's own clock runs three seconds on)...
          await page.clock.fastForward(3000);
          await page.waitForFunction((was) => document.querySelector('#warning-text').textContent !== was, before);
          // ...while only one sentence was said, and neither banner nor countdown is a live region.
          assert.deepEqual(await page.evaluate(() => window.__said), ['This session expires in 5 minutes. Renew it to keep it open.']);
          for (const id of ['#warning', '#warning-text', '#countdown', '#messages']) {
            assert.equal(
              await page.evaluate(
                (sel) =>
                  document.querySelector(sel).closest('[aria-live], [role="status"], [role="alert"], [role="log"], [role="timer"]')?.id ??
                  null,
                id,
              ),
              null,
              `${id} is in no live region`,
            );
          }
        },
        { dialog: 'accept', setup: (p) => p.clock.install() },
      );
    });
  });

  it('the keyboard alone: sign in, create, chat, renew, heartbeat, list, open, end, forget', async () => {
    await withServer(async (server) => {
      await withPage(suite.browser, server.url, '', async ({ page }) => {
        const kb = page.keyboard;
        // The key field has the focus on arrival.
        assert.equal(await focused(page), 'api-key');
        await kb.type(ADMIN_KEY);
        await kb.press('Enter');
        await page.locator('#sessions').waitFor({ state: 'visible' });
        assert.equal(await focused(page), 'sessions-title');

        await tabTo(page, '#nav-new', { backward: true });
        await kb.press('Enter');
        await page.locator('#new-session').waitFor({ state: 'visible' });
        assert.equal(await focused(page), 'new-session-title');
        await page.locator('#agent option').first().waitFor({ state: 'attached' });
        await tabTo(page, '#create');
        await kb.press('Enter');
        await waitForText(page, '#stream-state', 'live');
        assert.equal(await focused(page), 'session-title');
        const sessionId = (await page.textContent('#session-id'))!;

        await tabTo(page, '#message-input');
        await kb.type('Hello from the keyboard');
        await kb.press('Enter');
        await page.locator('#messages .message.agent:not(.streaming)').waitFor();
        await page.waitForFunction(() => document.querySelector('#send').getAttribute('aria-disabled') === null);
        assert.equal(await focused(page), 'message-input', 'typing can go on');

        const renewals = Number(await page.textContent('#renewal-count'));
        server.clock.advance(MINUTE);
        await tabTo(page, '#renew', { backward: true });
        await kb.press(' ');
        await waitForText(page, '#renewal-count', String(renewals + 1));
        assert.equal(await focused(page), 'renew', 'Renew keeps the focus while busy and after');
        server.clock.advance(MINUTE);
        await tabTo(page, '#heartbeat');
        await kb.press('Enter');
        await waitForText(page, '#renewal-count', String(renewals + 2));
        assert.equal(await focused(page), 'heartbeat');

        // Scroll back with the keyboard: the list takes the focus and scrolls.
        await tabTo(page, '#messages');
        await kb.press('Home');
        assert.equal(await focused(page), 'messages');

        await tabTo(page, '#back-to-sessions', { backward: true });
        await kb.press('Enter');
        await page.locator(`tr[data-session-id="${sessionId}"]`).waitFor();
        assert.equal(await focused(page), 'sessions-title');
        await tabTo(page, `tr[data-session-id="${sessionId}"] [data-action="open"]`);
        await kb.press('Enter');
        await waitForText(page, '#stream-state', 'live');
        assert.equal(await page.textContent('#session-id'), sessionId);

        await tabTo(page, '#back-to-sessions');
        await kb.press('Enter');
        await page.locator(`tr[data-session-id="${sessionId}"]`).waitFor();
        await tabTo(page, `tr[data-session-id="${sessionId}"] [data-action="end"]`);
        await answerDialog(page, 'accept', () => kb.press('Enter'));
        await page.locator(`tr[data-session-id="${sessionId}"]`).waitFor({ state: 'detached' });
        assert.equal(await focused(page), 'sessions-title');
        assert.equal((await server.request('GET', `${S}/${sessionId}`)).status, 404);

        await tabTo(page, '#forget', { backward: true });
        await kb.press('Enter');
        await page.locator('#credentials').waitFor({ state: 'visible' });
        assert.equal(await focused(page), 'api-key');
      });
    });
  });
});
