/**
 * The `webhook` provider end to end: the real server POSTing to a receiver on a real port, which
 * answers with JSON, SSE or NDJSON, slowly, or not at all.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startFakeWebhook, type FakeWebhook } from '../support/fake-webhook.js';
import { startServer, USER, type TestServer } from '../support/server.js';
import { within } from '../support/wait.js';
import { createAgent, historyOf, metricValue, sendHttp, sendSse, sessionWith, type AgentJson } from './helpers.js';
import type { MessageView } from '../../src/domain/message.js';

const SECRET_ENV = 'AGENT_SECRET_TEST_WEBHOOK';
const SECRET = 'whsec-test-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
process.env[SECRET_ENV] = SECRET;

let hook: FakeWebhook;
let server: TestServer;
let agent: AgentJson;

before(async () => {
  hook = await startFakeWebhook();
  // The global timeout is long on purpose: the webhook's own timeoutMs must be what fires.
  server = await startServer({ AGENT_TIMEOUT_SECONDS: '5', AGENT_HISTORY_MESSAGES: '2' });
  agent = await createAgent(server, { type: 'webhook', url: hook.url, timeoutMs: 1000 }, { name: 'Hooked', system: 'Be helpful.' });
});
after(async () => {
  await server.close();
  await hook.close();
});
beforeEach(() => {
  hook.behaviour = { kind: 'json', body: { text: 'ok' } };
});

describe('the request', () => {
  test('POSTs agent, session, message and the bounded history oldest first', async () => {
    const session = await sessionWith(server, agent.id, { plan: 'pro' });
    await sendHttp(server, session.sessionId, 'first');
    await sendHttp(server, session.sessionId, 'second');
    const next = hook.nextRequest();
    const sent = await sendHttp(server, session.sessionId, 'third');
    const request = await next;

    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/hook');
    assert.match(String(request.headers['content-type']), /^application\/json/);
    assert.equal(request.headers['x-signature-256'], undefined, 'unsigned without secretEnv');
    const body = request.body;
    assert.deepEqual(Object.keys(body).sort(), ['agent', 'history', 'message', 'session']);
    assert.deepEqual(body.agent, { id: agent.id, name: 'Hooked', system: 'Be helpful.' });
    assert.deepEqual(body.session, { sessionId: session.sessionId, agentId: agent.id, userId: USER, metadata: { plan: 'pro' } });
    // The message exactly as the API shows it.
    assert.deepEqual(body.message, {
      id: sent.id,
      content: 'third',
      authorId: USER,
      isAgent: false,
      createdAt: sent.createdAt,
      metadata: {},
      attachments: [],
    });
    // AGENT_HISTORY_MESSAGES=2: of first, ok, second, ok — the last two, oldest first.
    const stored = await historyOf(server, session.sessionId);
    assert.deepEqual(body.history, stored.slice(2, 4));
    assert.deepEqual(
      body.history.map((m: MessageView) => [m.isAgent, m.content]),
      [
        [false, 'second'],
        [true, 'ok'],
      ],
    );
  });

  test('with secretEnv, X-Signature-256 is the HMAC-SHA256 of the raw body', async () => {
    const signed = await createAgent(server, { type: 'webhook', url: hook.url, secretEnv: SECRET_ENV });
    const session = await sessionWith(server, signed.id);
    const next = hook.nextRequest();
    await sendHttp(server, session.sessionId, 'sign this: ünïcødé ✓');
    const request = await next;

    const header = String(request.headers['x-signature-256']);
    assert.match(header, /^sha256=[0-9a-f]{64}$/);
    const expected = `sha256=${createHmac('sha256', SECRET).update(request.rawBody).digest('hex')}`;
    assert.ok(timingSafeEqual(Buffer.from(header), Buffer.from(expected)), 'signature verifies');
    const forged = `sha256=${createHmac('sha256', 'wrong-secret').update(request.rawBody).digest('hex')}`;
    assert.notEqual(header, forged);
    assert.equal(request.body.message.content, 'sign this: ünïcødé ✓');

    const agents = await server.request('GET', '/api/agents');
    assert.ok(!agents.text.includes(SECRET), 'the secret is never returned');
  });

  test('a named secret variable that is not set fails the reply without sending anything unsigned', async () => {
    const unset = await createAgent(server, { type: 'webhook', url: hook.url, secretEnv: 'AGENT_SECRET_TEST_UNSET' });
    const session = await sessionWith(server, unset.id);
    const before = hook.requests.length;
    const sent = await sendHttp(server, session.sessionId, 'hi');
    assert.equal(sent.agentError.code, 'AGENT_UNAVAILABLE');
    assert.equal(hook.requests.length, before);
  });
});

describe('replies', () => {
  test('a JSON reply with thought and actions: stored with them in metadata', async () => {
    hook.behaviour = { kind: 'json', body: { text: 'Booked.', thought: 'The user wants a table.', actions: ['BOOK_TABLE', 'REPLY'] } };
    const session = await sessionWith(server, agent.id);
    const sent = await sendHttp(server, session.sessionId, 'table for two');
    assert.deepEqual(
      { text: sent.agentResponse.text, thought: sent.agentResponse.thought, actions: sent.agentResponse.actions },
      { text: 'Booked.', thought: 'The user wants a table.', actions: ['BOOK_TABLE', 'REPLY'] },
    );
    const history = await historyOf(server, session.sessionId);
    assert.equal(history[1]?.isAgent, true);
    assert.equal(history[1]?.content, 'Booked.');
    assert.deepEqual(history[1]?.metadata, { thought: 'The user wants a table.', actions: ['BOOK_TABLE', 'REPLY'] });
  });

  test('an SSE reply is relayed chunk by chunk and stored whole', async () => {
    hook.behaviour = { kind: 'sse', frames: [{ text: 'Once ' }, { text: 'upon ' }, { text: 'a time' }], delayMs: 15 };
    const session = await sessionWith(server, agent.id);
    const { events } = await sendSse(server, session.sessionId, 'tell me a story');
    assert.deepEqual(
      events.map((e) => e.event),
      ['user_message', 'chunk', 'chunk', 'chunk', 'done'],
    );
    const chunks = events.filter((e) => e.event === 'chunk').map((e) => e.data.chunk);
    assert.deepEqual(chunks, ['Once ', 'upon ', 'a time']);
    const history = await historyOf(server, session.sessionId);
    assert.equal(history[1]?.content, chunks.join(''));
    assert.equal(events.at(-1)!.data.message.content, 'Once upon a time');
  });

  test('an NDJSON reply is relayed chunk by chunk; a final line may carry thought and actions', async () => {
    hook.behaviour = {
      kind: 'ndjson',
      lines: [{ text: 'line one, ' }, { text: 'line two' }, { thought: 'done thinking', actions: ['REPLY'] }],
      delayMs: 15,
    };
    const session = await sessionWith(server, agent.id);
    const { events } = await sendSse(server, session.sessionId, 'stream please');
    const chunks = events.filter((e) => e.event === 'chunk').map((e) => e.data.chunk);
    assert.deepEqual(chunks, ['line one, ', 'line two']);
    const done = events.at(-1)!;
    assert.equal(done.event, 'done');
    assert.equal(done.data.message.content, 'line one, line two');
    assert.deepEqual(done.data.message.metadata, { thought: 'done thinking', actions: ['REPLY'] });
  });

  test('streams split anywhere still decode: CRLF, comments, multi-line data, UTF-8 across writes', async () => {
    const euro = Buffer.from('€', 'utf8');
    hook.behaviour = {
      kind: 'raw',
      contentType: 'text/event-stream; charset=utf-8',
      writes: [
        ': keep-alive comment\r\n\r\n',
        'event: message\r\ndata: {"text":\r',
        '\ndata: "price: ',
        euro.subarray(0, 1),
        Buffer.concat([euro.subarray(1), Buffer.from('5 "}\r\n\r\n')]),
        'data: {"text":"and more"}\n\ndata: [DONE]\n\n',
      ],
      delayMs: 5,
    };
    const session = await sessionWith(server, agent.id);
    const sent = await sendHttp(server, session.sessionId, 'price?');
    assert.equal(sent.agentError, undefined, JSON.stringify(sent.agentError));
    assert.equal(sent.agentResponse.text, 'price: €5 and more');
  });
});

describe('failures', () => {
  test("a slow receiver times out at the agent's own timeoutMs, not AGENT_TIMEOUT_SECONDS", async () => {
    hook.behaviour = { kind: 'slow', delayMs: 4000, text: 'too late' };
    const session = await sessionWith(server, agent.id);
    const next = hook.nextRequest();
    const started = performance.now();
    const sent = await sendHttp(server, session.sessionId, 'hurry');
    const elapsed = performance.now() - started;
    assert.equal(sent.agentError.code, 'AGENT_TIMEOUT');
    assert.ok(elapsed >= 950 && elapsed < 4000, `timed out after ${Math.round(elapsed)} ms (timeoutMs 1000, global 5 s)`);
    const request = await next;
    await within(request.closed, 500, 'the webhook request closing');
    assert.equal(request.abortedByClient, true);
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['hurry'],
    );
  });

  test('HTTP 500 gives agentError and keeps the user message', async () => {
    hook.behaviour = { kind: 'status', status: 500 };
    const session = await sessionWith(server, agent.id);
    const before = await metricValue('agent_failures_total', { provider: 'webhook', code: 'AGENT_FAILED' });
    const sent = await sendHttp(server, session.sessionId, 'hello');
    assert.equal(sent.agentError.code, 'AGENT_FAILED');
    assert.match(sent.agentError.message, /500/);
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['hello'],
    );
    assert.equal(await metricValue('agent_failures_total', { provider: 'webhook', code: 'AGENT_FAILED' }), before + 1);
  });

  test('a redirect is not followed', async () => {
    hook.behaviour = { kind: 'status', status: 307, headers: { location: `${hook.url}/elsewhere` } };
    const session = await sessionWith(server, agent.id);
    const before = hook.requests.length;
    const sent = await sendHttp(server, session.sessionId, 'hello');
    assert.equal(sent.agentError.code, 'AGENT_FAILED');
    assert.equal(hook.requests.length, before + 1, 'only the configured URL was called');
  });

  test('500 over sse gives an error event', async () => {
    hook.behaviour = { kind: 'status', status: 500 };
    const session = await sessionWith(server, agent.id);
    const { events } = await sendSse(server, session.sessionId, 'hello');
    assert.deepEqual(
      events.map((e) => e.event),
      ['user_message', 'error'],
    );
    assert.equal(events[1]!.data.code, 'AGENT_FAILED');
  });

  test('replies that are not {text, thought?, actions?} are failures', async () => {
    const session = await sessionWith(server, agent.id);
    const bad: Array<[string, typeof hook.behaviour]> = [
      ['not JSON', { kind: 'json', body: '<html>hi</html>', contentType: 'text/html' }],
      ['no text', { kind: 'json', body: { answer: 'hi' } }],
      ['text not a string', { kind: 'json', body: { text: 42 } }],
      ['actions not strings', { kind: 'json', body: { text: 'hi', actions: [1] } }],
      ['empty text', { kind: 'json', body: { text: '   ' } }],
      ['broken SSE frame', { kind: 'sse', frames: [{ text: 'ok ' }, '{"text":'] }],
      ['broken NDJSON line', { kind: 'ndjson', lines: [{ text: 'ok ' }, 'nope'] }],
    ];
    for (const [what, behaviour] of bad) {
      hook.behaviour = behaviour;
      const sent = await sendHttp(server, session.sessionId, what);
      assert.equal(sent.agentError?.code, 'AGENT_FAILED', what);
    }
    const history = await historyOf(server, session.sessionId);
    assert.ok(
      history.every((m) => !m.isAgent),
      'nothing stored for the agent',
    );
  });

  test('a runaway stream is cut off past the reply limit, and its connection closed', async () => {
    const line = { text: 'x'.repeat(60_000) };
    hook.behaviour = { kind: 'ndjson', lines: Array.from({ length: 20 }, () => line), delayMs: 5 };
    const session = await sessionWith(server, agent.id);
    const next = hook.nextRequest();
    const sent = await sendHttp(server, session.sessionId, 'say a lot');
    assert.equal(sent.agentError.code, 'AGENT_FAILED');
    assert.match(sent.agentError.message, /262144/);
    const request = await next;
    await within(request.closed, 500, 'the webhook request closing');
    assert.equal(request.abortedByClient, true);
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['say a lot'],
    );
  });

  test('a client that disconnects mid-stream does not cancel the webhook request (SPEC §10)', async () => {
    hook.behaviour = { kind: 'ndjson', lines: [{ text: 'partial ' }, { text: 'and the rest' }], delayMs: 150 };
    const session = await sessionWith(server, agent.id);
    const next = hook.nextRequest();
    const { events } = await sendSse(server, session.sessionId, 'go on', { disconnectAfter: 1 });
    assert.equal(events.at(-1)!.data.chunk, 'partial ');
    const request = await next;
    await server.app.replies.idle();
    assert.equal(request.abortedByClient, false);
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['go on', 'partial and the rest'],
    );
  });
});
