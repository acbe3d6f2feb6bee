/**
 * Reply control in the web app (SPEC §10), in a real Chromium against a real server: the Stop
 * button appears while a reply streams, stops it from the keyboard (the model's request is
 * aborted, nothing is stored), keeps the focus, and the page stays axe-clean; the session's
 * reply policy is shown.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { S, assertAccessible, it, screenshot, storedMessages, waitForText, webSuite, withAgentSession } from './support.js';
import type { PageDocument } from './page-dom.js';

declare const document: PageDocument;

const suite = webSuite({ AGENT_TIMEOUT_SECONDS: '30' });
let fake: FakeOpenAI;
before(async () => {
  fake = await startFakeOpenAI({ kind: 'hang', before: ['Thinking ', 'about it'] });
});
after(() => fake?.close());

describe('reply control in the web app', () => {
  it('Stop: shown while the reply streams, keyboard-operable, stops it, keeps the focus; the policy is shown', async () => {
    await withAgentSession(
      suite,
      { name: 'Slow model', provider: { type: 'openai', baseUrl: fake.baseUrl, model: 'm' } },
      async (page, sessionId) => {
        await waitForText(page, '#reply-policy', 'enqueue: a new message waits for the reply under way');
        assert.equal(await page.isHidden('#stop'), true, 'no Stop while nothing streams');

        const upstream = fake.nextRequest();
        await page.fill('#message-input', 'Tell me everything');
        await page.press('#message-input', 'Enter');
        const request = await upstream;
        await page.waitForSelector('#messages .message.agent.streaming');
        await page.waitForSelector('#stop', { state: 'visible' });
        await assertAccessible(page, 'chat with a streaming reply');
        await screenshot(page, 'chat-streaming-stop');

        // Keyboard only: focus the button, press Enter.
        await page.focus('#stop');
        const [cancel] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/${sessionId}/cancel`)),
          page.keyboard.press('Enter'),
        ]);
        assert.equal(cancel.status(), 200);
        await request.closed;
        assert.equal(request.abortedByClient, true, "the model's request was aborted");
        await page.waitForSelector('[data-testid="reply-stopped"]');
        await page.waitForSelector('#stop', { state: 'hidden' });
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'message-input', 'the focus is not lost');
        await waitForText(page, '#announcer', 'The reply was stopped.');
        assert.equal(await page.isVisible('#messages .message.agent.failed'), true, 'the partial reply stays, marked');
        await assertAccessible(page, 'chat after a stopped reply');
        await screenshot(page, 'chat-stopped');

        const stored = await storedMessages(suite.server, sessionId);
        assert.deepEqual(
          stored.map((m) => m.content),
          ['Tell me everything'],
          'no agent message stored',
        );

        // A policy changed elsewhere shows on the next answer carrying the session.
        const patched = await suite.server.request('PATCH', `${S}/${sessionId}`, { body: { replyPolicy: 'interrupt' } });
        assert.equal(patched.status, 200);
        await page.click('#heartbeat');
        await waitForText(page, '#reply-policy', 'interrupt: a new message stops the reply under way');
      },
    );
  });
});
