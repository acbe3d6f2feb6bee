/**
 * SPEC §10 on one instance (and, in the scaled pass, on PostgreSQL + Redis): cancelling a
 * streaming OpenAI-compatible reply and a webhook reply through every transport, what is stored
 * and emitted, who may cancel, and the three reply policies with two and three messages in flight.
 * The upstreams are the local fakes; they record whether the server aborted their request.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { startFakeWebhook, type FakeWebhook } from '../support/fake-webhook.js';
import { MINUTE } from '../support/clock.js';
import { ADMIN_KEY, startServer, type TestServer } from '../support/server.js';
import { openSse } from '../support/sse-client.js';
import { eventually, within } from '../support/wait.js';
import { createAgent, historyOf, sendSse, sessionPath, type AgentJson } from './helpers.js';
import type { MessageView } from '../../src/domain/message.js';

let fake: FakeOpenAI;
let hook: FakeWebhook;
let server: TestServer;
let model: AgentJson;
let webhook: AgentJson;

before(async () => {
  fake = await startFakeOpenAI();
  hook = await startFakeWebhook();
  // Far above the 1 s a cancel may take: a closed upstream request can only be the cancel.
  server = await startServer({ AGENT_TIMEOUT_SECONDS: '30' });
  model = await createAgent(server, { type: 'openai', baseUrl: fake.baseUrl, model: 'm' });
  webhook = await createAgent(server, { type: 'webhook', url: hook.url });
});
after(async () => {
  await server.close();
  await fake.close();
  await hook.close();
});
beforeEach(() => {
  fake.behaviour = { kind: 'stream', chunks: ['ok'] };
});

async function session(agentId: string, extra: Record<string, unknown> = {}) {
  const res = await server.request('POST', '/api/messaging/sessions', {
    body: { agentId, userId: '11111111-1111-4111-8111-111111111111', ...extra },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

const send = (sessionId: string, body: Record<string, unknown>, token?: string) =>
  server.request('POST', sessionPath(sessionId, '/messages'), { body, token });
const cancel = (sessionId: string, token?: string) => server.request('POST', sessionPath(sessionId, '/cancel'), { token });
const eventsOf = (sessionId: string) => server.app.store.eventsAfter(sessionId, 0, 1000);
const cancelledIds = async (sessionId: string) =>
  (await eventsOf(sessionId)).filter((e) => e.type === 'message.cancelled').map((e) => (e.data as { messageId: string }).messageId);

describe('cancel', () => {
  test('a streaming OpenAI-compatible reply, http transport: upstream aborted, agentError, nothing stored, message.cancelled once', async () => {
    fake.behaviour = { kind: 'hang', before: ['Let me ', 'think'] };
    const s = await session(model.id);
    const upstreamRequest = fake.nextRequest();
    const pending = send(s.sessionId, { content: 'a long question', transport: 'http' });
    const upstream = await upstreamRequest;
    await eventually(async () => (await eventsOf(s.sessionId)).some((e) => e.type === 'message.chunk'), 'the first chunk stored');

    const started = Date.now();
    const res = await cancel(s.sessionId);
    assert.equal(res.status, 200, res.text);
    await within(upstream.closed, 1000, 'the upstream request closing');
    assert.equal(upstream.abortedByClient, true);
    const sent = await within(pending, 1000, 'the http send answering');
    assert.ok(Date.now() - started < 1000);
    assert.equal(sent.status, 201);
    assert.deepEqual(res.body, { cancelled: [sent.body.id] });
    assert.equal(sent.body.agentError.code, 'AGENT_CANCELLED');
    assert.equal(sent.body.agentResponse, undefined);

    await server.app.replies.idle();
    assert.deepEqual(
      (await historyOf(server, s.sessionId)).map((m) => m.content),
      ['a long question'],
      'no agent message',
    );
    const events = await eventsOf(s.sessionId);
    const cancelled = events.filter((e) => e.type === 'message.cancelled');
    assert.equal(cancelled.length, 1);
    assert.deepEqual(cancelled[0]!.data, { messageId: sent.body.id });
    assert.ok(
      events.some((e) => e.type === 'message.chunk'),
      'chunks already emitted stay in the log',
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );

    const again = await cancel(s.sessionId);
    assert.deepEqual([again.status, again.body], [200, { cancelled: [] }], 'twice is harmless');
    assert.equal((await cancelledIds(s.sessionId)).length, 1, 'and emits nothing more');
  });

  test('a webhook reply, sse transport: the webhook request is aborted and the stream ends with error AGENT_CANCELLED', async () => {
    hook.behaviour = { kind: 'hang', contentType: 'application/x-ndjson', writes: ['{"text":"partial "}\n'] };
    const s = await session(webhook.id);
    const next = hook.nextRequest();
    const streaming = sendSse(server, s.sessionId, 'go on');
    const request = await next;
    await eventually(async () => (await eventsOf(s.sessionId)).some((e) => e.type === 'message.chunk'), 'the chunk');
    const res = await cancel(s.sessionId);
    assert.equal(res.status, 200);
    await within(request.closed, 1000, 'the webhook request closing');
    assert.equal(request.abortedByClient, true);
    const { events } = await within(streaming, 1000, 'the sse stream ending');
    assert.deepEqual(
      events.map((e) => e.event),
      ['user_message', 'chunk', 'error'],
    );
    assert.equal(events[2]!.data.code, 'AGENT_CANCELLED');
    assert.equal(typeof events[2]!.data.message, 'string');
    assert.deepEqual(res.body, { cancelled: [events[0]!.data.id] });
    await server.app.replies.idle();
    assert.deepEqual(
      (await historyOf(server, s.sessionId)).map((m) => m.content),
      ['go on'],
    );
    assert.deepEqual(await cancelledIds(s.sessionId), [events[0]!.data.id]);
  });

  test('websocket transport: the reply waiting behind a running one is cancelled too, both in order', async () => {
    fake.behaviour = { kind: 'hang', before: ['…'] };
    const s = await session(model.id);
    const next = fake.nextRequest();
    const one = await send(s.sessionId, { content: 'one' });
    const two = await send(s.sessionId, { content: 'two' });
    await next;
    const res = await cancel(s.sessionId);
    assert.deepEqual(res.body, { cancelled: [one.body.id, two.body.id] });
    await server.app.replies.idle();
    assert.deepEqual(await cancelledIds(s.sessionId), [one.body.id, two.body.id]);
    assert.equal(
      fake.requests.filter((r) => JSON.stringify(r.body).includes('"two"')).length,
      0,
      'the waiting one never reached the model',
    );
    assert.deepEqual(
      (await historyOf(server, s.sessionId)).map((m) => m.content),
      ['one', 'two'],
    );
  });

  test('an idle session answers an empty list; unknown 404, expired 410; a session token cancels its own session only', async () => {
    const s = await session(model.id, { timeoutConfig: { timeoutMinutes: 5 } });
    const other = await session(model.id);
    assert.deepEqual((await cancel(s.sessionId)).body, { cancelled: [] });
    assert.deepEqual((await cancel(s.sessionId, s.sessionToken)).body, { cancelled: [] });
    const foreign = await cancel(s.sessionId, other.sessionToken);
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error.code, 'FORBIDDEN');
    assert.equal((await cancel('5b0a3d0e-4d7a-4f6c-9a59-2d2b8e3c1f00')).body.error.code, 'SESSION_NOT_FOUND');

    fake.behaviour = { kind: 'hang', before: ['…'] };
    const next = fake.nextRequest();
    const sent = await send(other.sessionId, { content: 'mine' }, other.sessionToken);
    await next;
    assert.equal((await cancel(other.sessionId, s.sessionToken)).status, 403, "another session's token cancels nothing");
    assert.deepEqual(await cancelledIds(other.sessionId), []);
    const own = await cancel(other.sessionId, other.sessionToken);
    assert.deepEqual([own.status, own.body], [200, { cancelled: [sent.body.id] }]);
    await server.app.replies.idle();

    server.clock.advance(5 * MINUTE);
    const expired = await cancel(s.sessionId);
    assert.equal(expired.status, 410);
    assert.equal(expired.body.error.code, 'SESSION_EXPIRED');
  });
});

describe('a disconnect is not a cancel', () => {
  test('an sse client that goes away mid-reply: the reply completes, is stored, and reaches /events', async () => {
    let release!: () => void;
    fake.behaviour = { kind: 'gated', before: ['It is '], release: new Promise<void>((r) => (release = r)), after: ['a long story'] };
    const s = await session(model.id);
    const next = fake.nextRequest();
    const { events } = await sendSse(server, s.sessionId, 'tell me', { disconnectAfter: 1 });
    assert.deepEqual(
      events.map((e) => e.event),
      ['user_message', 'chunk'],
    );
    const upstream = await next;
    // The client reconnects to the session's events, resuming after what it had seen.
    const before = (await eventsOf(s.sessionId)).at(-1)!.seq;
    const feed = await openSse(`${server.url}${sessionPath(s.sessionId, '/events')}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'last-event-id': String(before) },
    });
    release();
    let created: MessageView | undefined;
    while (!created) {
      const frame = await feed.next(2000);
      if (frame.event === 'message.created' && frame.data.data.message.isAgent) created = frame.data.data.message;
    }
    feed.close();
    assert.equal(created.content, 'It is a long story');
    assert.equal(upstream.abortedByClient, false);
    await server.app.replies.idle();
    assert.deepEqual(
      (await historyOf(server, s.sessionId)).map((m) => m.content),
      ['tell me', 'It is a long story'],
    );
    assert.deepEqual(await cancelledIds(s.sessionId), []);
  });
});

describe('reply policies with two and three messages in flight', () => {
  test('enqueue (default): every message is stored and answered, one after the other, in order', async () => {
    // The first reply is held until all three messages are stored, however slow the machine.
    let release!: () => void;
    fake.behaviour = { kind: 'gated', before: ['re: '], release: new Promise<void>((r) => (release = r)), after: ['x'] };
    const s = await session(model.id);
    const before = fake.requests.length;
    const ids = [];
    for (const content of ['first', 'second', 'third']) ids.push((await send(s.sessionId, { content })).body.id);
    release();
    await server.app.replies.idle();
    const history = await historyOf(server, s.sessionId);
    assert.deepEqual(
      history.map((m) => [m.content, m.isAgent]),
      [
        ['first', false],
        ['second', false],
        ['third', false],
        ['re: x', true],
        ['re: x', true],
        ['re: x', true],
      ],
    );
    const asked = fake.requests.slice(before).map((r) => (r.body.messages as Array<{ content: string }>).at(-1)!.content);
    assert.deepEqual(asked, ['first', 'second', 'third'], 'answered in order');
    assert.deepEqual(await cancelledIds(s.sessionId), []);
  });

  test('reject: a send while busy is 409 REPLY_IN_PROGRESS and stores and renews nothing; ifBusy overrides both ways', async () => {
    fake.behaviour = { kind: 'hang', before: ['…'] };
    const s = await session(model.id, { replyPolicy: 'reject' });
    const next = fake.nextRequest();
    server.clock.advance(1000);
    const first = await send(s.sessionId, { content: 'first' });
    assert.equal(first.status, 201);
    await next;
    const stateBefore = (await server.request('GET', sessionPath(s.sessionId))).body;
    const notChunks = async () => (await eventsOf(s.sessionId)).filter((e) => e.type !== 'message.chunk').length;
    const eventsBefore = await notChunks();
    server.clock.advance(1000);
    for (const content of ['second', 'third']) {
      const res = await send(s.sessionId, { content, transport: 'http' });
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.error.code, 'REPLY_IN_PROGRESS');
      assert.equal(res.body.success, false);
    }
    const viaOverride = await send(s.sessionId, { content: 'also refused', ifBusy: 'reject' });
    assert.equal(viaOverride.status, 409);
    const stateAfter = (await server.request('GET', sessionPath(s.sessionId))).body;
    assert.deepEqual(
      [stateAfter.lastActivity, stateAfter.expiresAt, stateAfter.renewalCount],
      [stateBefore.lastActivity, stateBefore.expiresAt, stateBefore.renewalCount],
      'nothing renewed',
    );
    assert.equal(await notChunks(), eventsBefore, 'nothing emitted');
    assert.deepEqual(
      (await historyOf(server, s.sessionId)).map((m) => m.content),
      ['first'],
      'nothing stored',
    );

    // The send's own ifBusy wins over the session's policy.
    const queued = await send(s.sessionId, { content: 'queued', ifBusy: 'enqueue' });
    assert.equal(queued.status, 201);
    const enqueueSession = await session(model.id);
    const next2 = fake.nextRequest();
    await send(enqueueSession.sessionId, { content: 'running' });
    await next2;
    const refused = await send(enqueueSession.sessionId, { content: 'no', ifBusy: 'reject' });
    assert.equal(refused.status, 409);
    assert.equal((await cancel(s.sessionId)).body.cancelled.length, 2);
    assert.equal((await cancel(enqueueSession.sessionId)).body.cancelled.length, 1);
    await server.app.replies.idle();

    // Idle again: accepted.
    fake.behaviour = { kind: 'stream', chunks: ['fine'] };
    const idle = await send(s.sessionId, { content: 'now', transport: 'http' });
    assert.equal(idle.status, 201);
    assert.equal(idle.body.agentResponse.text, 'fine');
  });

  test('interrupt: the running and the waiting reply are cancelled, then the new message is stored and answered', async () => {
    fake.behaviour = { kind: 'hang', before: ['…'] };
    const s = await session(model.id, { replyPolicy: 'interrupt' });
    const upstreamRequest = fake.nextRequest();
    const first = send(s.sessionId, { content: 'first', transport: 'http' });
    const upstream = await upstreamRequest;
    // Enqueued explicitly: without ifBusy it would interrupt the first one already.
    const second = await send(s.sessionId, { content: 'second', ifBusy: 'enqueue' });
    fake.behaviour = { kind: 'stream', chunks: ['the answer'] };
    const third = await send(s.sessionId, { content: 'third', transport: 'http' });
    assert.equal(third.status, 201, third.text);
    assert.equal(third.body.agentResponse.text, 'the answer');
    const firstAnswer = await first;
    assert.equal(firstAnswer.body.agentError.code, 'AGENT_CANCELLED');
    await within(upstream.closed, 1000, 'the first upstream request closing');
    assert.equal(upstream.abortedByClient, true);
    await server.app.replies.idle();

    assert.deepEqual(await cancelledIds(s.sessionId), [firstAnswer.body.id, second.body.id]);
    const events = await eventsOf(s.sessionId);
    const order = events
      .filter((e) => e.type !== 'message.chunk')
      .map((e) => (e.type === 'message.cancelled' ? 'cancelled' : ((e.data as { message?: MessageView }).message?.content ?? e.type)));
    assert.deepEqual(
      order.filter((t) => t !== 'session.renewed' && t !== 'session.created'),
      ['first', 'second', 'cancelled', 'cancelled', 'third', 'the answer'],
    );
    assert.deepEqual(
      (await historyOf(server, s.sessionId)).map((m) => m.content),
      ['first', 'second', 'third', 'the answer'],
    );
  });

  test('invalid ifBusy is a 400 naming the field, and stores nothing', async () => {
    const s = await session(model.id);
    const res = await send(s.sessionId, { content: 'x', ifBusy: 'later' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    assert.match(res.body.error.details, /ifBusy/);
    assert.deepEqual(await historyOf(server, s.sessionId), []);
  });
});
