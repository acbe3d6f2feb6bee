/**
 * The chat view in a real Chromium against a real server on a real port: creating a session with
 * an API key, streamed replies, escaping of message text, the lifecycle pushed live (time driven
 * by the server's ManualClock and scheduler ticks, never by sleeping), session-token links,
 * resuming the event stream after a restart, and bad credentials.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { startFakeWebhook } from '../support/fake-webhook.js';
import { ADMIN_KEY, ELIZA, createSession, startServer } from '../support/server.js';
import {
  S,
  answerDialog,
  createInPage,
  it,
  sendInPage,
  shownMessages,
  signInWithKey,
  storedMessages as stored_,
  tick as tick_,
  typeAndSend,
  waitForEvents as waitForEvents_,
  waitForText,
  webSuite,
  withAgentSession as withAgentSession_,
  withPage as withPage_,
  type PageOptions,
} from './support.js';
import type { TestPage } from '../support/browser.js';
import type { Page } from 'playwright-core';
import type { TestServer } from '../support/server.js';
import type { MessageView } from '../../src/domain/message.js';
import type { PageDocument, PageStorage, PageWindow } from './page-dom.js';

// The functions given to page.evaluate and page.waitForFunction run in the page: these are the
// page's globals (the project compiles without the DOM library).
declare const document: PageDocument, window: PageWindow, sessionStorage: PageStorage, localStorage: PageStorage;

const suite = webSuite();
const withPage = (base: string, hash: string, fn: (t: TestPage) => Promise<void>, options?: PageOptions) =>
  withPage_(suite.browser, base, hash, fn, options);
const storedMessages = (sessionId: string, target: TestServer = suite.server) => stored_(target, sessionId);
const waitForEvents = (page: Page, sessionId: string, target: TestServer = suite.server) => waitForEvents_(page, target, sessionId);
const tick = (sessionId: string) => tick_(suite.server, sessionId);
const withAgentSession = (agent: Record<string, unknown>, fn: (page: Page, sessionId: string) => Promise<void>) =>
  withAgentSession_(suite, agent, fn);

describe('the web app in a browser', () => {
  it('with an API key: creates a session with ELIZA, chats, then works with the session token only', async () => {
    await withPage(suite.server.url, '', async ({ page, requests }) => {
      const sessionId = await createInPage(page);
      assert.equal(await page.textContent('#session-agent'), 'Eliza');
      const token = await page.evaluate(() => sessionStorage.getItem('agent-sessions.sessionToken'));
      assert.match(token ?? '', /^ast_/);
      const link = await page.inputValue('#share-link');
      assert.equal(link, `${suite.server.url}/#session=${sessionId}&token=${token}`);

      await sendInPage(page, 'Hello');

      const stored = await storedMessages(sessionId);
      assert.equal(stored.length, 2);
      const [reply, hello] = stored as [MessageView, MessageView];
      assert.equal(hello.content, 'Hello');
      assert.equal(reply.isAgent, true);
      assert.deepEqual(await shownMessages(page), [
        [false, 'Hello'],
        [true, reply.content],
      ]);
      assert.equal(await page.getAttribute(`[data-message-id="${reply.id}"] time`, 'datetime'), reply.createdAt);
      // Screen readers hear the reply once, complete, through the page's live region.
      await waitForText(page, '#announcer', `Eliza: ${reply.content}`);

      // The message.created events of both messages (this tab's own) did not add them twice.
      await waitForEvents(page, sessionId);
      assert.equal((await shownMessages(page)).length, 2);

      // Heartbeat: activity, renewed (a minute later, so that expiresAt moves).
      // The GET below must see the heartbeat's effect, so wait for its answer, not only the click.
      suite.server.clock.advance(MINUTE);
      const [heartbeat] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/${sessionId}/heartbeat`)),
        page.click('#heartbeat'),
      ]);
      assert.equal(heartbeat.status(), 200);
      const afterHeartbeat = (await suite.server.request('GET', `${S}/${sessionId}`)).body;
      await waitForText(page, '#renewal-count', String(afterHeartbeat.renewalCount));
      await page.waitForFunction(
        (want) => document.querySelector('#expires-at').getAttribute('datetime') === want,
        afterHeartbeat.expiresAt,
      );

      // The key listed agents and created the session; everything on the session used its token.
      const api = requests.filter((r) => new URL(r.url()).pathname.startsWith('/api/'));
      for (const request of api) {
        const { pathname } = new URL(request.url());
        const auth = (await request.allHeaders()).authorization;
        if (pathname === '/api/agents' || pathname === S) assert.equal(auth, `Bearer ${ADMIN_KEY}`, pathname);
        else assert.equal(auth, `Bearer ${token}`, `${request.method()} ${pathname}`);
      }
      assert.ok(
        api.some((r) => r.url().endsWith(`/${sessionId}/events`)),
        'the page subscribed to the events',
      );
      assert.ok(
        api.every((r) => !r.url().includes('token=')),
        'no credential in any URL',
      );
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      assert.deepEqual(await page.context().cookies(), []);
    });
  });

  it('shows message text exactly as sent, never as markup', async () => {
    await withPage(suite.server.url, '', async ({ page }) => {
      const sessionId = await createInPage(page);
      const payloads = [
        '<img src=x onerror="window.__pwned=1">',
        '<script>window.__pwned=1</script>',
        '  <b>bold?</b> &amp; &lt;tag&gt;\n\tsecond line "quoted" \'single\'  ',
      ];
      for (const payload of payloads) await sendInPage(page, payload);

      const stored = (await storedMessages(sessionId)).reverse();
      assert.deepEqual(
        stored.filter((m) => !m.isAgent).map((m) => m.content),
        payloads,
        'stored byte-exact',
      );
      assert.deepEqual(
        await shownMessages(page),
        stored.map((m) => [m.isAgent, m.content]),
        'every message shown with exactly its stored text',
      );
      const inList = await page.evaluate(() => ({
        elements: document.querySelectorAll('#messages img, #messages script, #messages b').length,
        images: document.images.length,
        scripts: [...document.scripts].map((script) => script.src),
        pwned: window.__pwned,
      }));
      assert.deepEqual({ ...inList, scripts: inList.scripts.length }, { elements: 0, images: 0, scripts: 1, pwned: undefined });
      assert.match(inList.scripts[0] ?? '', new RegExp(`^${suite.server.url}/app-[A-Z0-9]+\\.js$`), 'only the app bundle');
    });
  });

  it('pushes the lifecycle live: warning, renewal, expiry', async () => {
    await withPage(suite.server.url, '', async ({ page }) => {
      const sessionId = await createInPage(page);
      const created = (await suite.server.request('GET', `${S}/${sessionId}`)).body;
      assert.equal(await page.getAttribute('#expires-at', 'datetime'), created.expiresAt);
      assert.equal(await page.textContent('#renewal-count'), '0');
      assert.ok(await page.locator('#warning').isHidden());

      // Into the warning window (default: the last 5 of 30 minutes).
      suite.server.clock.advance(25 * MINUTE);
      assert.deepEqual(await tick(sessionId), ['session.warning']);
      await page.locator('#warning').waitFor({ state: 'visible' });
      assert.match((await page.textContent('#warning'))!, /expires in [45]:\d\d/);

      await page.click('#warning-renew');
      await page.locator('#warning').waitFor({ state: 'hidden' });
      const renewed = (await suite.server.request('GET', `${S}/${sessionId}`)).body;
      assert.equal(renewed.renewalCount, 1);
      assert.ok(Date.parse(renewed.expiresAt) > Date.parse(created.expiresAt));
      await page.waitForFunction((want) => document.querySelector('#expires-at').getAttribute('datetime') === want, renewed.expiresAt);
      await waitForText(page, '#renewal-count', '1');
      assert.match((await page.textContent('#countdown'))!, /^(30:00|29:\d\d)$/);

      // Past the new expiry.
      suite.server.clock.advance(31 * MINUTE);
      assert.deepEqual(await tick(sessionId), ['session.warning', 'session.expired']);
      await page.locator('#final').waitFor({ state: 'visible' });
      assert.match((await page.textContent('#final'))!, /expired/);
      assert.equal(await page.textContent('#session-status'), 'expired');
      assert.ok(await page.locator('#warning').isHidden());
      for (const id of ['#send', '#message-input', '#renew', '#heartbeat', '#end']) {
        assert.ok(await page.locator(id).isDisabled(), `${id} is disabled`);
      }
      await waitForText(page, '#stream-state', 'closed');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('agent-sessions.sessionToken')), null, 'the dead token is dropped');
    });
  });

  it('End session deletes it and shows the final state', async () => {
    await withPage(suite.server.url, '', async ({ page }) => {
      const sessionId = await createInPage(page);
      const question = await answerDialog(page, 'accept', () => page.click('#end'));
      assert.equal(question, `End session ${sessionId}? It and its messages are deleted.`);
      await page.locator('#final').waitFor({ state: 'visible' });
      assert.equal(await page.evaluate(() => document.activeElement.id), 'final', 'focus moved to what happened, not lost');
      assert.match((await page.textContent('#final'))!, /ended/);
      assert.ok(await page.locator('#send').isDisabled());
      assert.equal((await suite.server.request('GET', `${S}/${sessionId}`)).status, 404);
      // With the key still there, a new session is one click away.
      await page.click('#new-session-button');
      await page.locator('#new-session').waitFor({ state: 'visible' });
    });
  });

  it('End session asks first; declining changes nothing', async () => {
    await withPage(suite.server.url, '', async ({ page }) => {
      const sessionId = await createInPage(page);
      await answerDialog(page, 'dismiss', () => page.click('#end'));
      assert.ok(await page.locator('#final').isHidden());
      assert.equal((await suite.server.request('GET', `${S}/${sessionId}`)).status, 200);
    });
  });

  it('opens a session from a #session=…&token=… link: history, paging, sending, nothing leaked', async () => {
    const session = await createSession(suite.server);
    const { sessionId, sessionToken: token } = session;
    for (let i = 1; i <= 26; i++) {
      const res = await suite.server.request('POST', `${S}/${sessionId}/messages`, {
        body: { content: `message ${i}`, transport: 'http' },
      });
      assert.equal(res.status, 201, res.text);
    }
    await withPage(
      suite.server.url,
      `#session=${sessionId}&token=${token}`,
      async ({ page, requests }) => {
        await waitForText(page, '#stream-state', 'live');
        assert.equal(page.url(), `${suite.server.url}/`, 'the fragment is cleared from the address bar');

        // The newest 50 of 52, oldest at the top; then the rest.
        let stored = (await storedMessages(sessionId)).reverse();
        assert.equal(stored.length, 52);
        assert.deepEqual(
          await shownMessages(page),
          stored.slice(2).map((m) => [m.isAgent, m.content]),
        );
        await page.locator('#load-older').waitFor({ state: 'visible' });
        await page.click('#load-older');
        await page.locator('#load-older').waitFor({ state: 'hidden' });
        assert.equal(await page.evaluate(() => document.activeElement.id), 'messages', 'the focus goes to the messages, not the page');
        assert.deepEqual(
          await shownMessages(page),
          stored.map((m) => [m.isAgent, m.content]),
        );

        await sendInPage(page, 'Still there?');
        stored = (await storedMessages(sessionId)).reverse();
        assert.equal(stored.length, 54);
        assert.deepEqual(
          await shownMessages(page),
          stored.map((m) => [m.isAgent, m.content]),
        );

        // A reply produced elsewhere (another client, websocket transport) arrives as events, once.
        const other = await suite.server.request('POST', `${S}/${sessionId}/messages`, {
          body: { content: 'from another tab', transport: 'http' },
        });
        assert.equal(other.status, 201);
        await page.locator(`[data-message-id="${other.body.agentResponse.id}"]`).waitFor({ state: 'attached' });
        stored = (await storedMessages(sessionId)).reverse();
        assert.deepEqual(
          await shownMessages(page),
          stored.map((m) => [m.isAgent, m.content]),
        );

        assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
        assert.deepEqual(await page.context().cookies(), []);
        assert.ok(await page.locator('#new-session').isHidden(), 'no key: no session creation');
        for (const request of requests) {
          assert.ok(!request.url().includes(token), `no token in ${request.url()}`);
          assert.ok(!decodeURIComponent(request.url()).includes(token));
          const headers = await request.allHeaders();
          if (new URL(request.url()).pathname.startsWith('/api/')) assert.equal(headers.authorization, `Bearer ${token}`);
          else assert.equal(headers.authorization, undefined, 'no credentials on the static files');
          assert.equal(headers.referer, undefined, 'no Referer');
        }
      },
      { dialog: 'accept' },
    );
  });

  it('after a server restart, the event stream resumes with Last-Event-ID and misses nothing', async () => {
    let own = await startServer({ SSE_HEARTBEAT_SECONDS: '1' });
    try {
      const { sessionId, sessionToken: token } = await createSession(own);
      await withPage(
        own.url,
        `#session=${sessionId}&token=${token}`,
        async ({ page, requests }) => {
          await waitForText(page, '#stream-state', 'live');
          await sendInPage(page, 'Hello');
          const lastId = await waitForEvents(page, sessionId, own);

          const port = new URL(own.url).port;
          await own.close({ keepData: true });
          await waitForText(page, '#stream-state', 'reconnecting…');
          own = await startServer({ PORT: port, SSE_HEARTBEAT_SECONDS: '1' }, own.clock, own.storage);
          // Sent while the page is not connected yet.
          const missed = await own.request('POST', `${S}/${sessionId}/messages`, {
            body: { content: 'sent during the outage', transport: 'http' },
          });
          assert.equal(missed.status, 201, missed.text);

          await page.locator(`[data-message-id="${missed.body.agentResponse.id}"]`).waitFor({ state: 'attached' });
          await waitForText(page, '#stream-state', 'live');
          const stored = (await storedMessages(sessionId, own)).reverse();
          assert.deepEqual(
            await shownMessages(page),
            stored.map((m) => [m.isAgent, m.content]),
          );
          const streams = requests.filter((r) => r.url().endsWith(`/${sessionId}/events`));
          assert.ok(streams.length >= 2);
          assert.equal((await streams[0]!.allHeaders())['last-event-id'], undefined);
          for (const stream of streams.slice(1)) assert.equal((await stream.allHeaders())['last-event-id'], lastId);
        },
        { dialog: 'accept' },
      );
    } finally {
      await own.close();
    }
  });

  it('shows a reply growing as its chunks arrive, then the stored reply once', async () => {
    // The model sends two chunks and then waits for the test, so the page is seen mid-reply.
    let release!: () => void;
    const model = await startFakeOpenAI({
      kind: 'gated',
      before: ['Hel', 'lo'],
      release: new Promise((resolve) => (release = resolve)),
      after: [' there'],
    });
    try {
      await withAgentSession(
        { name: 'Streamer', provider: { type: 'openai', baseUrl: model.baseUrl, model: 'local' } },
        async (page, sessionId) => {
          await typeAndSend(page, 'Hi');
          await waitForText(page, '#messages .message.agent.streaming .text', 'Hello');
          assert.equal(await page.getAttribute('#send', 'aria-disabled'), 'true', 'no second send while the reply streams');
          assert.equal(await page.evaluate(() => document.activeElement.id), 'send', 'the pressed button keeps the focus');
          assert.equal((await storedMessages(sessionId)).length, 1, 'only the user message is stored so far');

          release();
          await page.waitForFunction(() => document.querySelector('#send').getAttribute('aria-disabled') === null);
          const stored = await storedMessages(sessionId);
          assert.deepEqual(
            stored.map((m) => [m.isAgent, m.content]),
            [
              [true, 'Hello there'],
              [false, 'Hi'],
            ],
          );
          await waitForEvents(page, sessionId);
          assert.deepEqual(
            await shownMessages(page),
            [
              [false, 'Hi'],
              [true, 'Hello there'],
            ],
            'each message shown once',
          );
          assert.equal(await page.locator('#messages .streaming').count(), 0);
        },
      );
    } finally {
      release();
      await model.close();
    }
  });

  it("an agent's failure arrives as an error event and is shown as an agent error", async () => {
    // A webhook agent whose endpoint answers 500.
    const failing = await startFakeWebhook({ kind: 'status', status: 500 });
    try {
      await withAgentSession({ name: 'Broken', provider: { type: 'webhook', url: failing.url } }, async (page, sessionId) => {
        await typeAndSend(page, 'Are you there?');
        await page.locator('#messages [data-testid="agent-error"]').waitFor({ state: 'visible' });
        assert.match((await page.textContent('#messages [data-testid="agent-error"]'))!, /^Agent error: [A-Z_]+: \S/);
        await page.waitForFunction(() => document.querySelector('#send').getAttribute('aria-disabled') === null);
        const stored = await storedMessages(sessionId);
        assert.deepEqual(
          stored.map((m) => [m.isAgent, m.content]),
          [[false, 'Are you there?']],
          'the user message stays stored',
        );
        assert.deepEqual(await shownMessages(page), [[false, 'Are you there?']]);
        assert.ok(await page.locator('#error').isHidden(), 'not an API error');
      });
    } finally {
      await failing.close();
    }
  });

  it('a bad API key or session token shows UNAUTHORIZED and asks again', async () => {
    await withPage(suite.server.url, '', async ({ page }) => {
      await page.fill('#api-key', 'ask_ThisIsNotAKeyThisIsNotAKeyThisIsNotAKey00');
      await page.click('#use-key');
      await page.locator('#error').waitFor({ state: 'visible' });
      assert.match((await page.textContent('#error'))!, /^UNAUTHORIZED: /);
      await page.locator('#credentials').waitFor({ state: 'visible' });
      assert.ok(await page.locator('#new-session').isHidden());
      assert.equal(await page.evaluate(() => sessionStorage.getItem('agent-sessions.apiKey')), null);
    });
    const { sessionId } = await createSession(suite.server);
    await withPage(
      suite.server.url,
      `#session=${sessionId}&token=ast_ThisIsNotATokenThisIsNotATokenThisIsNot00`,
      async ({ page }) => {
        await page.locator('#error').waitFor({ state: 'visible' });
        assert.match((await page.textContent('#error'))!, /^UNAUTHORIZED: /);
        await page.locator('#credentials').waitFor({ state: 'visible' });
        assert.ok(await page.locator('#session').isHidden());
        assert.equal(page.url(), `${suite.server.url}/`);
      },
      { dialog: 'accept' },
    );
  });

  it('API errors show code and message: an out-of-range timeout', async () => {
    await withPage(suite.server.url, '', async ({ page }) => {
      await signInWithKey(page);
      await page.click('#nav-new');
      await page.locator(`#agent option[value="${ELIZA}"]`).waitFor({ state: 'attached' });
      await page.fill('#timeout', '2');
      await page.click('#create');
      await page.locator('#error').waitFor({ state: 'visible' });
      assert.match((await page.textContent('#error'))!, /^VALIDATION_ERROR: .*timeoutMinutes/);
      assert.ok(await page.locator('#session').isHidden());
    });
  });
});
