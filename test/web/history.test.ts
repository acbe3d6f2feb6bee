/**
 * Scrolling back through a whole conversation in a real Chromium: 300 messages, loaded a page at
 * a time as the reader scrolls up (here with the keyboard: Home in the focused list), each shown
 * exactly once and in order, the reader's place kept at every load, and each load announced in
 * one sentence rather than fifty messages.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Page } from 'playwright-core';
import { createSession } from '../support/server.js';
import { S, it, waitForText, webSuite, withPage } from './support.js';
import type { PageDocument, PageElement } from './page-dom.js';

declare const document: PageDocument;

const suite = webSuite();

/** Every stored message, oldest first, read with `before` cursors as the API documents. */
async function allStored(sessionId: string): Promise<Array<{ id: string; content: string }>> {
  const all: Array<{ id: string; content: string }> = [];
  let before: number | null = null;
  for (;;) {
    const res = await suite.server.request('GET', `${S}/${sessionId}/messages?limit=100${before === null ? '' : `&before=${before}`}`);
    assert.equal(res.status, 200, res.text);
    all.push(...res.body.messages);
    if (!res.body.hasMore) break;
    before = res.body.cursors.before;
  }
  return all.reverse();
}

/** The first shown message and where it is in the list's viewport (px from its top). */
function firstVisible(page: Page): Promise<{ id: string; offset: number; count: number }> {
  return page.evaluate(() => {
    const list = document.querySelector('#messages');
    const items = [...list.querySelectorAll('[data-message-id]')];
    const top = list.getBoundingClientRect().top;
    const first = items.find((li) => li.getBoundingClientRect().bottom > top)!;
    return { id: first.dataset.messageId, offset: first.getBoundingClientRect().top - top, count: items.length };
  });
}

describe('scrolling back through history', () => {
  it('shows all 300 messages exactly once, in order, without jumps', async () => {
    const { sessionId, sessionToken } = await createSession(suite.server);
    for (let i = 1; i <= 150; i++) {
      const res = await suite.server.request('POST', `${S}/${sessionId}/messages`, {
        body: { content: `question ${i}`, transport: 'http' },
      });
      assert.equal(res.status, 201, res.text);
    }
    const stored = await allStored(sessionId);
    assert.equal(stored.length, 300);

    await withPage(
      suite.browser,
      suite.server.url,
      `#session=${sessionId}&token=${sessionToken}`,
      async ({ page }) => {
        await waitForText(page, '#stream-state', 'live');
        assert.equal((await firstVisible(page)).count, 50, 'the newest page first');
        assert.equal(await page.getAttribute('#messages', 'aria-live'), null, 'the list is not a live region');
        // The newest message is in view at the start.
        assert.ok(
          await page.evaluate(() => {
            const list = document.querySelector('#messages');
            return list.scrollHeight - list.scrollTop - list.clientHeight < 2;
          }),
        );

        // The first older page: with the keyboard, Home in the focused list.
        await page.focus('#messages');
        await page.keyboard.press('Home');
        await page.waitForFunction(() => document.querySelectorAll('#messages [data-message-id]').length === 100);
        await waitForText(page, '#announcer', '50 older messages loaded.');
        let loads = 1;
        // Then as a reader dragging the scroll bar to the top, watching where the text is.
        for (;;) {
          const shown = await page.evaluate(() => {
            const list = document.querySelector('#messages');
            list.scrollTop = 0;
            const first = list.querySelector('[data-message-id]');
            return {
              id: first.dataset.messageId,
              offset: first.getBoundingClientRect().top - list.getBoundingClientRect().top,
              count: list.querySelectorAll('[data-message-id]').length,
            };
          });
          if (shown.count === 300) break;
          await page.waitForFunction((count) => document.querySelectorAll('#messages [data-message-id]').length > count, shown.count);
          loads++;
          // The message that was at the top of the viewport when the older page was asked for
          // is still there, to the pixel: nothing jumps under the reader's eyes.
          const at = await page.evaluate((id) => {
            const list = document.querySelector('#messages');
            return document.querySelector(`[data-message-id="${id}"]`).getBoundingClientRect().top - list.getBoundingClientRect().top;
          }, shown.id);
          assert.ok(Math.abs(at - shown.offset) <= 1, `no jump at load ${loads}: ${shown.offset}px before, ${at}px after`);
          const added = (await firstVisible(page)).count - shown.count;
          await waitForText(
            page,
            '#announcer',
            `${added} older messages loaded${shown.count + added === 300 ? ': the start of the conversation' : ''}.`,
          );
        }
        assert.equal(loads, 5);
        assert.ok(await page.locator('#load-older').isHidden(), 'nothing older left');

        const shown = await page.$$eval('#messages [data-message-id]', (items) =>
          items.map((li: PageElement) => ({ id: li.dataset.messageId, content: li.querySelector('.text').textContent })),
        );
        assert.equal(new Set(shown.map((m) => m.id)).size, 300, 'each message once');
        assert.deepEqual(
          shown,
          stored.map((m) => ({ id: m.id, content: m.content })),
          'all of them, oldest first',
        );
      },
      { dialog: 'accept' },
    );
  });
});
