/**
 * The sessions view in a real Chromium against a real server (embedded, and PostgreSQL + Redis
 * in the scaled pass): the list, its stats, filters and pages; ending a session; opening one in
 * the chat view with the API key; and live updates when other clients renew, end or create
 * sessions. Server time moves with its ManualClock; the page's timers with Playwright's clock,
 * so the list's refresh interval is run, not waited for.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Page } from 'playwright-core';
import { MINUTE } from '../support/clock.js';
import { ADMIN_KEY, createSession, withServer, type SessionList, type TestServer } from '../support/server.js';
import {
  S,
  answerDialog,
  it,
  sendInPage,
  shownMessages,
  signInWithKey,
  storedMessages,
  waitForText,
  webSuite,
  withPage,
} from './support.js';
import type { PageDocument, PageElement } from './page-dom.js';

declare const document: PageDocument;

const suite = webSuite();
const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';
/** The list's refresh interval (web/src/views/sessions-view.ts). */
const REFRESH_MS = 15_000;

/** The list as the API answers it (newest first): the ids. */
async function apiList(server: TestServer, query: string): Promise<{ ids: string[]; body: SessionList }> {
  const res = await server.request('GET', `${S}?limit=100&${query}`);
  assert.equal(res.status, 200, res.text);
  const body = res.body as SessionList;
  return { ids: body.sessions.map((s) => s.sessionId), body };
}

/** The rows shown, in order: their session ids. */
const shownIds = (page: Page): Promise<string[]> =>
  page.$$eval('#sessions-rows tr', (rows) => rows.map((tr: PageElement) => tr.dataset.sessionId));

/** Waits until the page shows exactly these rows, in this order. */
async function waitForRows(page: Page, ids: string[]): Promise<void> {
  await page.waitForFunction(
    (want) => [...document.querySelectorAll('#sessions-rows tr')].map((tr) => tr.dataset.sessionId).join() === want.join(),
    ids,
  );
}

const cell = (page: Page, id: string, column: number) =>
  page.textContent(`#sessions-rows tr[data-session-id="${id}"] > :nth-child(${column})`);

async function applyFilters(page: Page, filters: { agent?: string; user?: string; status?: string }): Promise<void> {
  if (filters.agent !== undefined) await page.selectOption('#filter-agent', filters.agent);
  if (filters.user !== undefined) await page.fill('#filter-user', filters.user);
  if (filters.status !== undefined) await page.selectOption('#filter-status', filters.status);
  await page.click('#apply-filters');
}

describe('the sessions view', () => {
  it('lists sessions with their stats, filters by agent, user and status, and pages', async () => {
    await withServer(async (server) => {
      const second = await server.request('POST', '/api/agents', { body: { name: 'Second', provider: { type: 'eliza' } } });
      assert.equal(second.status, 201);
      const agent2 = second.body.id;
      // Two that will expire, then 20 + 3 active ones (newest first in the list).
      for (let i = 0; i < 2; i++) await createSession(server, { userId: U2, timeoutConfig: { timeoutMinutes: 5 } });
      server.clock.advance(6 * MINUTE);
      await server.app.scheduler.tick();
      for (let i = 0; i < 20; i++) {
        await createSession(server, { userId: U1 });
        server.clock.advance(1000);
      }
      for (let i = 0; i < 3; i++) {
        await createSession(server, { userId: U2, agentId: agent2 });
        server.clock.advance(1000);
      }

      await withPage(suite.browser, server.url, '', async ({ page }) => {
        await signInWithKey(page);
        const active = await apiList(server, 'status=active');
        assert.equal(active.ids.length, 23);
        await waitForRows(page, active.ids.slice(0, 20));
        assert.deepEqual(
          [await page.textContent('#stat-total'), await page.textContent('#stat-active'), await page.textContent('#stat-expired')],
          ['25', '23', '2'],
        );
        assert.equal(await page.textContent('#page-range'), '1–20 of 23');
        assert.equal(await page.getAttribute('#page-previous', 'aria-disabled'), 'true');
        assert.ok(await page.locator('#filter-metadata').isVisible(), 'the server documents metadata.<key>: the filter shows');

        // One row in detail: agent name, user, status, time left, renewals, last activity.
        const newest = active.body.sessions[0]!;
        assert.equal(await cell(page, newest.sessionId, 2), 'Second');
        assert.equal(await cell(page, newest.sessionId, 3), U2.slice(0, 8));
        assert.equal(await cell(page, newest.sessionId, 4), 'active');
        assert.match((await cell(page, newest.sessionId, 5))!, /^(30:00|29:\d\d)$/);
        assert.equal(await cell(page, newest.sessionId, 6), '0');
        assert.equal(await page.getAttribute(`tr[data-session-id="${newest.sessionId}"] time`, 'datetime'), newest.lastActivity);

        // Next page and back.
        await page.click('#page-next');
        await waitForRows(page, active.ids.slice(20));
        assert.equal(await page.textContent('#page-range'), '21–23 of 23');
        assert.equal(await page.getAttribute('#page-next', 'aria-disabled'), 'true');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'page-next', 'the pressed button keeps the focus');
        await page.click('#page-previous');
        await waitForRows(page, active.ids.slice(0, 20));

        // Filters: by agent; by user and status; all.
        await applyFilters(page, { agent: agent2 });
        await waitForRows(page, (await apiList(server, `agentId=${agent2}`)).ids);
        assert.equal((await shownIds(page)).length, 3);
        assert.deepEqual(
          [await page.textContent('#stat-total'), await page.textContent('#stat-active'), await page.textContent('#stat-expired')],
          ['3', '3', '0'],
        );

        await applyFilters(page, { agent: '', user: U2, status: 'expired' });
        const expired = await apiList(server, `userId=${U2}&status=expired`);
        assert.equal(expired.ids.length, 2);
        await waitForRows(page, expired.ids);
        for (const id of expired.ids) {
          assert.equal(await cell(page, id, 4), 'expired');
          assert.equal(await cell(page, id, 5), '–');
        }
        assert.deepEqual(
          [await page.textContent('#stat-total'), await page.textContent('#stat-active'), await page.textContent('#stat-expired')],
          ['5', '3', '2'],
        );

        await applyFilters(page, { user: '', status: 'all' });
        await waitForRows(page, (await apiList(server, 'status=all')).ids.slice(0, 20));
        assert.equal(await page.textContent('#page-range'), '1–20 of 25');

        // A user id that is not a UUID is refused before any request.
        await applyFilters(page, { user: 'bob' });
        await waitForText(page, '#error', 'VALIDATION_ERROR: The user id is a UUID (userId)');
      });
    });
  });

  it('ends a session from the list and opens another in the chat view with the API key', async () => {
    await withServer(async (server) => {
      const keep = await createSession(server, { userId: U1 });
      server.clock.advance(1000);
      const doomed = await createSession(server, { userId: U1 });
      await withPage(suite.browser, server.url, '', async ({ page, requests }) => {
        await signInWithKey(page);
        await waitForRows(page, [doomed.sessionId, keep.sessionId]);

        // End: asks, deletes, the row leaves the list, focus lands on the list's heading.
        const endButton = `tr[data-session-id="${doomed.sessionId}"] [data-action="end"]`;
        await page.focus(endButton);
        const question = await answerDialog(page, 'accept', () => page.keyboard.press('Enter'));
        assert.equal(question, `End session ${doomed.sessionId}? It and its messages are deleted.`);
        await waitForRows(page, [keep.sessionId]);
        assert.equal((await server.request('GET', `${S}/${doomed.sessionId}`)).status, 404);
        assert.equal(await page.evaluate(() => document.activeElement.id), 'sessions-title', 'focus is not lost with the row');
        await waitForText(page, '#stat-total', '1');

        // Open: the chat view on that session, using the API key (no token is known for it).
        await page.click(`tr[data-session-id="${keep.sessionId}"] [data-action="open"]`);
        await waitForText(page, '#stream-state', 'live');
        assert.equal(await page.textContent('#session-id'), keep.sessionId);
        assert.equal(await page.textContent('#who'), 'Using the API key');
        assert.ok(await page.locator('#share').isHidden(), 'no link to share: the key is not shown to anyone');
        await sendInPage(page, 'Hello from the operator');
        const stored = (await storedMessages(server, keep.sessionId)).reverse();
        assert.deepEqual(
          await shownMessages(page),
          stored.map((m) => [m.isAgent, m.content]),
        );
        for (const request of requests.filter((r) => new URL(r.url()).pathname.startsWith('/api/'))) {
          assert.equal((await request.allHeaders()).authorization, `Bearer ${ADMIN_KEY}`);
        }
        assert.ok(
          requests.every((r) => !r.url().includes(ADMIN_KEY)),
          'the key is in no URL (Socket.IO included)',
        );

        // Back to the list.
        await page.click('#back-to-sessions');
        await waitForRows(page, [keep.sessionId]);
        await waitForText(page, `tr[data-session-id="${keep.sessionId}"] > :nth-child(6)`, '1');
      });
    });
  });

  it('updates live: renewals and ends from other clients, new sessions on the next refresh, the countdown', async () => {
    await withServer(async (server) => {
      const a = await createSession(server, { userId: U1 });
      server.clock.advance(1000);
      const b = await createSession(server, { userId: U1 });
      const rowLive = (id: string) => page.locator(`tr[data-session-id="${id}"][data-live="true"]`).waitFor({ state: 'attached' });
      let page!: Page;
      await withPage(
        suite.browser,
        server.url,
        '',
        async (t) => {
          page = t.page;
          await signInWithKey(page);
          await waitForRows(page, [b.sessionId, a.sessionId]);
          await rowLive(a.sessionId);
          await rowLive(b.sessionId);
          await waitForText(page, '#sessions-live', `Live updates: on. New sessions appear within ${REFRESH_MS / 1000} s.`);

          // The countdown runs on the page's own clock.
          const before = (await cell(page, a.sessionId, 5))!;
          await page.clock.fastForward(10_000);
          const seconds = (face: string) => face.split(':').reduce((total, part) => total * 60 + Number(part), 0);
          await page.waitForFunction(
            ([sel, was]) => {
              const [m, s] = document.querySelector(sel).textContent.split(':').map(Number);
              return m! * 60 + s! <= was - 10;
            },
            [`tr[data-session-id="${a.sessionId}"] > :nth-child(5)`, seconds(before)] as const,
          );

          // Another client renews A two minutes later (server time): the row follows its event.
          server.clock.advance(2 * MINUTE);
          const renewed = await server.request('POST', `${S}/${a.sessionId}/renew`);
          assert.equal(renewed.status, 200);
          await waitForText(page, `tr[data-session-id="${a.sessionId}"] > :nth-child(6)`, '1');
          assert.match((await cell(page, a.sessionId, 5))!, /^(30:00|29:5\d)$/, 'time left corrected from the event');
          assert.equal(await page.getAttribute(`tr[data-session-id="${a.sessionId}"] time`, 'datetime'), renewed.body.lastActivity);

          // Another client creates C: it appears on the next refresh of the list.
          server.clock.advance(1000);
          const c = await createSession(server, { userId: U2 });
          await page.clock.fastForward(REFRESH_MS);
          await waitForRows(page, [c.sessionId, b.sessionId, a.sessionId]);
          await waitForText(page, '#stat-active', '3');
          await rowLive(c.sessionId);

          // Another client ends B: its event marks the row ended, then the list drops it.
          const ended = await server.request('DELETE', `${S}/${b.sessionId}`);
          assert.equal(ended.status, 200);
          await waitForRows(page, [c.sessionId, a.sessionId]);
          await waitForText(page, '#stat-active', '2');

          // Time runs out for everything: the expiry events empty the active list.
          server.clock.advance(31 * MINUTE);
          await server.app.scheduler.tick();
          await waitForRows(page, []);
          assert.ok(await page.locator('#sessions-empty').isVisible());
          await waitForText(page, '#stat-expired', '2');
        },
        { setup: (p) => p.clock.install() },
      );
    });
  });
});
