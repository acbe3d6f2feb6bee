/**
 * `#session=…&token=…` links in a real Chromium: the app asks before using one, also when the
 * tab holds no session (issue 12, finding 8), so a link from an e-mail cannot drop the reader
 * into its author's session unawares. Declined, the link leaves no trace: not in the address
 * bar, not in storage, never sent to the server.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Page } from 'playwright-core';
import { createSession } from '../support/server.js';
import { it, waitForText, webSuite, withPage } from './support.js';
import type { PageDocument, PageStorage } from './page-dom.js';

declare const sessionStorage: PageStorage, document: PageDocument;

const suite = webSuite();

/** Loads `hash` in the page, answering the question it asks; returns the question. */
async function openLink(page: Page, hash: string, answer: 'accept' | 'dismiss'): Promise<string> {
  await page.goto('about:blank');
  const asked = page.waitForEvent('dialog');
  const loaded = page.goto(`/${hash}`);
  const dialog = await asked;
  const question = dialog.message();
  await dialog[answer]();
  await loaded;
  await page.locator('html[data-ready="true"]').waitFor({ state: 'attached' });
  return question;
}

const stored = (page: Page) =>
  page.evaluate(() => ({
    id: sessionStorage.getItem('agent-sessions.sessionId'),
    token: sessionStorage.getItem('agent-sessions.sessionToken'),
  }));

const TRUST = ' Whoever made the link can read everything written in that session: open it only if you trust where it came from.';

describe('session links', () => {
  it('a tab with no session asks before opening a link; declined, nothing is used or kept', async () => {
    const b = await createSession(suite.server);
    const link = `#session=${b.sessionId}&token=${b.sessionToken}`;
    await withPage(suite.browser, suite.server.url, '', async ({ page, requests }) => {
      await page.locator('#credentials').waitFor({ state: 'visible' });
      assert.equal(await openLink(page, link, 'dismiss'), `Open session ${b.sessionId} from this link?${TRUST}`);
      await page.locator('#credentials').waitFor({ state: 'visible' });
      assert.ok(await page.locator('#session').isHidden(), 'declined: no session opened');
      assert.deepEqual(await stored(page), { id: null, token: null }, 'declined: nothing stored');
      assert.equal(page.url(), `${suite.server.url}/`, 'the link is out of the address bar either way');
      assert.deepEqual(
        requests.filter((r) => new URL(r.url()).pathname.startsWith('/api/')).map((r) => r.url()),
        [],
        'declined: not a single API request, so the token was never used',
      );

      // Accepted: the session opens with the link's token.
      assert.equal(await openLink(page, link, 'accept'), `Open session ${b.sessionId} from this link?${TRUST}`);
      await waitForText(page, '#stream-state', 'live');
      assert.equal(await page.textContent('#session-id'), b.sessionId);
      assert.deepEqual(await stored(page), { id: b.sessionId, token: b.sessionToken });
    });
  });

  it('a link to another session asks before leaving the one this tab is in', async () => {
    const a = await createSession(suite.server);
    const b = await createSession(suite.server);
    await withPage(
      suite.browser,
      suite.server.url,
      `#session=${a.sessionId}&token=${a.sessionToken}`,
      async ({ page }) => {
        await waitForText(page, '#stream-state', 'live');
        const question = await openLink(page, `#session=${b.sessionId}&token=${b.sessionToken}`, 'dismiss');
        assert.equal(question, `Open session ${b.sessionId} from this link? This tab leaves session ${a.sessionId}.${TRUST}`);
        await waitForText(page, '#stream-state', 'live');
        assert.equal(await page.textContent('#session-id'), a.sessionId, 'declined: still in session A');
        assert.deepEqual(await stored(page), { id: a.sessionId, token: a.sessionToken });
        assert.equal(page.url(), `${suite.server.url}/`);

        await openLink(page, `#session=${b.sessionId}&token=${b.sessionToken}`, 'accept');
        await waitForText(page, '#stream-state', 'live');
        assert.equal(await page.textContent('#session-id'), b.sessionId);
        assert.deepEqual(await stored(page), { id: b.sessionId, token: b.sessionToken });
      },
      { dialog: 'accept' },
    );
  });

  it('the link of the session already open reopens it without asking', async () => {
    const a = await createSession(suite.server);
    const link = `#session=${a.sessionId}&token=${a.sessionToken}`;
    await withPage(
      suite.browser,
      suite.server.url,
      link,
      async ({ page }) => {
        await waitForText(page, '#stream-state', 'live');
        let asked = 0;
        page.on('dialog', (dialog) => {
          asked++;
          void dialog.dismiss();
        });
        await page.goto('about:blank');
        await page.goto(`/${link}`);
        await page.locator('html[data-ready="true"]').waitFor({ state: 'attached' });
        await waitForText(page, '#stream-state', 'live');
        assert.equal(asked, 0);
        assert.equal(await page.textContent('#session-id'), a.sessionId);
      },
      { dialog: 'accept' },
    );
  });

  it('a link missing its token is refused with a clear error, without asking', async () => {
    const a = await createSession(suite.server);
    await withPage(suite.browser, suite.server.url, `#session=${a.sessionId}`, async ({ page }) => {
      await page.locator('#error').waitFor({ state: 'visible' });
      assert.equal(await page.textContent('#error'), 'INVALID_LINK: A session link needs both #session=<id> and &token=<ast_…>');
      assert.ok(await page.locator('#credentials').isVisible());
      assert.equal(await page.evaluate(() => document.location.hash), '');
    });
  });
});
