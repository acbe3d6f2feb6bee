/**
 * The web app's search box, Export button and metadata filter, in a real Chromium against a
 * real server (both stores in the test runner's two passes): results newest first with "More
 * results" following nextCursor, message text shown inert, a result opening its session; the
 * downloaded transcript is exactly what the API exports; the metadata filter narrows the list.
 * Driven with the keyboard where a user would type; axe-clean.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe } from 'node:test';
import type { Page } from 'playwright-core';
import type { SearchPage } from '../../src/services/search.js';
import { createSession, withServer, type CreatedSession } from '../support/server.js';
import { S, assertAccessible, it, sendInPage, signInWithKey, waitForText, webSuite, withPage } from './support.js';
import type { PageDocument, PageElement, PageWindow } from './page-dom.js';

declare const document: PageDocument, window: PageWindow;

const suite = webSuite();

const shownResults = (page: Page): Promise<string[]> =>
  page.$$eval('#search-list li .content', (nodes) => nodes.map((n: PageElement) => n.textContent));

describe('search, export and the metadata filter', () => {
  it('the search box finds messages in every session, pages with More results, and opens a result', async () => {
    await withServer(async (server) => {
      const a = await createSession(server);
      const b = await createSession(server);
      const hostile = '<img src=x onerror="window.__pwned=1"> needle here';
      const expected: string[] = [];
      // Stored directly (no agent replies to repeat the words).
      const store = async (session: CreatedSession, content: string) =>
        server.app.store.insertMessage({
          id: randomUUID(),
          sessionId: session.sessionId,
          content,
          authorId: session.userId,
          isAgent: false,
          createdAt: server.clock.advance(1000),
          metadata: {},
          attachments: [],
          inReplyTo: null,
        });
      for (let i = 0; i < 22; i++) {
        const content = `needle ${i} in a haystack`;
        await store(i % 2 ? a : b, content);
        expected.unshift(content);
      }
      await store(a, hostile);
      expected.unshift(hostile);
      // What the API answers is what the page must show.
      const api = await server.request('GET', '/api/messaging/search?q=needle&limit=100');
      const matching = (api.body as SearchPage).results.map((r) => r.message.content);
      assert.deepEqual(matching, expected);

      await withPage(suite.browser, server.url, '', async ({ page }) => {
        await signInWithKey(page);
        await page.focus('#search-q');
        await page.keyboard.type('NEEDLE');
        await page.keyboard.press('Enter');
        await page.locator('#search-results').waitFor({ state: 'visible' });
        await page.waitForFunction(() => document.querySelectorAll('#search-list li').length === 20);
        assert.deepEqual(await shownResults(page), matching.slice(0, 20));
        assert.equal(await page.evaluate(() => window.__pwned), undefined, 'message text is inert');
        assert.equal(await page.textContent('#search-summary'), '20+ messages contain every word of “NEEDLE”, newest first.');
        await assertAccessible(page, 'search results');

        await page.click('#search-more');
        await page.waitForFunction((n) => document.querySelectorAll('#search-list li').length === n, matching.length);
        assert.deepEqual(await shownResults(page), matching);
        assert.ok(await page.locator('#search-more').isHidden());
        assert.equal(
          await page.textContent('#search-summary'),
          `${matching.length} messages contain every word of “NEEDLE”, newest first.`,
        );

        // Words that no message holds together.
        await page.fill('#search-q', 'needle nowhere');
        await page.keyboard.press('Enter');
        await waitForText(page, '#search-summary', 'No messages contain every word of “needle nowhere”.');
        assert.equal(await page.$$eval('#search-list li', (nodes) => nodes.length), 0);

        // A result opens its session in the chat view.
        await page.fill('#search-q', 'needle 13 haystack');
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => document.querySelectorAll('#search-list li').length === 1);
        await page.locator('#search-list li button').focus();
        await page.keyboard.press('Enter');
        await page.locator('#session').waitFor({ state: 'visible' });
        await waitForText(page, '#session-id', a.sessionId);
      });
    });
  });

  it('Export downloads the transcript in the chosen format, exactly as the API serves it', async () => {
    await withServer(async (server) => {
      await withPage(suite.browser, server.url, '', async ({ page }) => {
        await signInWithKey(page);
        const created = await createSession(server);
        await page.reload();
        await page.locator('html[data-ready="true"]').waitFor({ state: 'attached' });
        await page.locator(`#sessions-rows tr[data-session-id="${created.sessionId}"] button`).first().waitFor();
        await page.evaluate((id: string) => {
          const row = document.querySelector(`#sessions-rows tr[data-session-id="${id}"]`);
          [...row.querySelectorAll('button')].find((b) => /open/i.test(b.textContent))?.click();
        }, created.sessionId);
        await page.locator('#session').waitFor({ state: 'visible' });
        await sendInPage(page, 'Hello, I would like to export this');
        await assertAccessible(page, 'chat with export');
        for (const [format, extension] of [
          ['markdown', 'md'],
          ['json', 'json'],
          ['ndjson', 'ndjson'],
        ] as const) {
          await page.selectOption('#export-format', format);
          await page.focus('#export-button');
          const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
          assert.equal(download.suggestedFilename(), `session-${created.sessionId}.${extension}`);
          const text = readFileSync(await download.path(), 'utf8');
          const api = await server.request('GET', `${S}/${created.sessionId}/export?format=${format}`);
          assert.equal(text, api.text, format);
        }
        assert.match(
          readFileSync(await (await Promise.all([page.waitForEvent('download'), page.click('#export-button')]))[0].path(), 'utf8'),
          /export this/,
        );
      });
    });
  });

  it('the metadata filter narrows the list', async () => {
    await withServer(async (server) => {
      const pro: string[] = [];
      for (let i = 0; i < 3; i++) {
        server.clock.advance(1000);
        pro.unshift((await createSession(server, { metadata: { plan: 'pro', seats: 5 } })).sessionId);
        server.clock.advance(1000);
        await createSession(server, { metadata: { plan: 'free' } });
      }
      await withPage(suite.browser, server.url, '', async ({ page }) => {
        await signInWithKey(page);
        await page.locator('#filter-metadata').waitFor({ state: 'visible' });
        await page.fill('#filter-meta-key', 'plan');
        await page.fill('#filter-meta-value', 'pro');
        await page.click('#apply-filters');
        await page.waitForFunction(
          (want) => [...document.querySelectorAll('#sessions-rows tr')].map((tr) => tr.dataset.sessionId).join() === want.join(),
          pro,
        );
        await page.fill('#filter-meta-key', 'seats');
        await page.fill('#filter-meta-value', '5');
        await page.click('#apply-filters');
        await page.waitForFunction(
          (want) => [...document.querySelectorAll('#sessions-rows tr')].map((tr) => tr.dataset.sessionId).join() === want.join(),
          pro,
        );
        await assertAccessible(page, 'sessions filtered by metadata');
      });
    });
  });
});
