/**
 * Sending messages over the three transports (and the legacy `mode` alias), idempotent retries,
 * activity renewal, and history paging with exact cursors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { elizaAnswer } from '../../src/agents/eliza.js';
import { MINUTE } from '../support/clock.js';
import { startFakeWebhook, type FakeWebhook } from '../support/fake-webhook.js';
import { createSession, ELIZA, startServer, USER, type HistoryPage, type TestResponse, type TestServer } from '../support/server.js';
import type { SseFrame } from '../support/sse-client.js';
import type { MessageView } from '../../src/domain/message.js';

const BASE = '/api/messaging/sessions';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const iso = (ms: number) => new Date(ms).toISOString();

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const send = (id: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
  server.request('POST', `${BASE}/${id}/messages`, { body, headers });

async function history(id: string, qs = '', s: TestServer = server): Promise<HistoryPage> {
  const res = await s.request('GET', `${BASE}/${id}/messages${qs}`);
  assert.equal(res.status, 200, res.text);
  return res.body as HistoryPage;
}

/** The user message as the SPEC's Message object. */
function userMessage(id: string, content: string, createdAt: number, extra: { metadata?: unknown; attachments?: unknown[] } = {}) {
  return {
    id,
    content,
    authorId: USER,
    isAgent: false,
    createdAt: iso(createdAt),
    metadata: extra.metadata ?? {},
    attachments: extra.attachments ?? [],
  };
}

/** The 201 body: the user message's fields, the same under `userMessage`, and `sessionStatus`. */
function sentBody(message: ReturnType<typeof userMessage>, sessionStatus: Record<string, unknown>) {
  return { ...message, userMessage: message, sessionStatus };
}

/** A send's answer, split into its sessionStatus and the rest. */
type ReplayedSend = { sessionStatus: Record<string, unknown> } & Record<string, unknown>;

function parseSse(text: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith(':'));
    if (lines.length === 0) continue;
    const frame: Partial<SseFrame> = {};
    const data: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') frame.event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') frame.id = value;
    }
    frames.push({ event: frame.event ?? 'message', data: JSON.parse(data.join('\n')), ...(frame.id ? { id: frame.id } : {}) });
  }
  return frames;
}

describe('transport websocket (the default)', () => {
  test('201 at once with the user message, userMessage and sessionStatus; no success key', async () => {
    const session = await createSession(server);
    const t0 = server.clock.advance(MINUTE);
    const res = await send(session.sessionId, { content: 'I am feeling sad today' });
    assert.equal(res.status, 201, res.text);
    assert.match(res.body.id, UUID);
    assert.equal('success' in res.body, false);
    assert.deepEqual(
      res.body,
      sentBody(userMessage(res.body.id, 'I am feeling sad today', t0), {
        expiresAt: iso(t0 + 30 * MINUTE),
        renewalCount: 1,
        wasRenewed: true,
        isNearExpiration: false,
      }),
    );
    assert.equal('agentResponse' in res.body, false);

    // The reply is produced in the background and stored.
    await server.app.replies.idle();
    const page = await history(session.sessionId);
    assert.equal(page.messages.length, 2);
    const [reply, mine] = page.messages as [MessageView, MessageView];
    assert.deepEqual(mine, userMessage(res.body.id, 'I am feeling sad today', t0));
    assert.match(reply.id, UUID);
    assert.deepEqual(reply, {
      id: reply.id,
      content: elizaAnswer([], 'I am feeling sad today'),
      authorId: ELIZA,
      isAgent: true,
      createdAt: iso(t0 + 1), // strictly after the message it answers, though in the same ms
      metadata: {},
      attachments: [],
    });
  });

  test('legacy mode "websocket" is the same', async () => {
    const session = await createSession(server);
    const res = await send(session.sessionId, { content: 'Hello', mode: 'websocket' });
    assert.equal(res.status, 201, res.text);
    assert.equal('agentResponse' in res.body, false);
    await server.app.replies.idle();
    assert.equal((await history(session.sessionId)).messages.length, 2);
  });

  test('metadata and attachments are stored and returned exactly; content is byte-exact', async () => {
    const t0 = server.clock.now();
    const session = await createSession(server);
    const content = '  <b>bold</b> & "quotes"\n\ttabbed\r\n👋🏽 café ';
    const metadata = { source: 'test', tags: ['a', 'b'], context: { priority: 1, nested: { ok: true } } };
    const attachments = [
      { type: 'image', url: 'https://example.com/cat.png', name: 'cat.png', size: 1234, mimeType: 'image/png' },
      { type: 'document', url: 'http://example.com/doc.pdf' },
    ];
    const res = await send(session.sessionId, { content, metadata, attachments });
    assert.equal(res.status, 201, res.text);
    const expected = userMessage(res.body.id, content, t0, { metadata, attachments });
    assert.deepEqual(res.body, sentBody(expected, res.body.sessionStatus));
    await server.app.replies.idle();
    assert.deepEqual((await history(session.sessionId)).messages[1], expected);
  });
});

describe('transport http', () => {
  test('waits for the agent: agentResponse {id, text, createdAt}; id is the stored reply', async () => {
    const session = await createSession(server);
    const t0 = server.clock.advance(MINUTE);
    const res = await send(session.sessionId, { content: 'I need some help', transport: 'http' });
    assert.equal(res.status, 201, res.text);
    const { agentResponse, ...rest } = res.body;
    assert.deepEqual(
      rest,
      sentBody(userMessage(res.body.id, 'I need some help', t0), {
        expiresAt: iso(t0 + 30 * MINUTE),
        renewalCount: 1,
        wasRenewed: true,
        isNearExpiration: false,
      }),
    );
    assert.deepEqual(agentResponse, { id: agentResponse.id, text: elizaAnswer([], 'I need some help'), createdAt: iso(t0 + 1) });

    const page = await history(session.sessionId);
    assert.equal(page.messages.length, 2);
    assert.deepEqual(page.messages[0], {
      id: agentResponse.id,
      content: agentResponse.text,
      authorId: ELIZA,
      isAgent: true,
      createdAt: agentResponse.createdAt,
      metadata: {},
      attachments: [],
    });
    assert.deepEqual((await server.app.store.getMessage(agentResponse.id))?.inReplyTo, res.body.id);
  });

  test('legacy mode "sync" means http', async () => {
    const session = await createSession(server);
    const res = await send(session.sessionId, { content: 'Hello', mode: 'sync' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.agentResponse.text, elizaAnswer([], 'Hello'));
    assert.equal((await history(session.sessionId)).messages[0]!.id, res.body.agentResponse.id);
  });

  test('transport wins over mode', async () => {
    const session = await createSession(server);
    const res = await send(session.sessionId, { content: 'Hello', transport: 'http', mode: 'websocket' });
    assert.equal(res.status, 201, res.text);
    assert.ok(res.body.agentResponse);
  });

  test('the agent sees the conversation so far', async () => {
    const session = await createSession(server);
    const first = await send(session.sessionId, { content: 'I remember my mother', transport: 'http' });
    const second = await send(session.sessionId, { content: 'It is hard', transport: 'http' });
    assert.equal(first.status, 201);
    assert.equal(second.body.agentResponse.text, elizaAnswer(['I remember my mother'], 'It is hard'));
  });
});

describe('transport sse', () => {
  async function streamed(res: TestResponse) {
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    return parseSse(res.text);
  }

  test('user_message, chunks from index 0 that make the stored reply, then done', async () => {
    const session = await createSession(server);
    const t0 = server.clock.advance(MINUTE);
    const frames = await streamed(await send(session.sessionId, { content: 'I feel anxious about work', transport: 'sse' }));
    const [first, ...rest] = frames;
    const done = rest.pop()!;
    assert.equal(first?.event, 'user_message');
    const status = { expiresAt: iso(t0 + 30 * MINUTE), renewalCount: 1, wasRenewed: true, isNearExpiration: false };
    assert.deepEqual(first.data, sentBody(userMessage(first.data.id, 'I feel anxious about work', t0), status));

    assert.ok(rest.length >= 2, `expected several chunks, got ${rest.length}`);
    assert.ok(rest.every((f) => f.event === 'chunk'));
    assert.deepEqual(
      rest.map((f) => f.data.index),
      rest.map((_, i) => i),
    );
    assert.equal(done.event, 'done');
    const replyId = done.data.message.id;
    for (const chunk of rest) assert.deepEqual(Object.keys(chunk.data).sort(), ['chunk', 'index', 'messageId']);
    assert.ok(rest.every((f) => f.data.messageId === replyId));
    const text = rest.map((f) => f.data.chunk).join('');
    assert.equal(text, elizaAnswer([], 'I feel anxious about work'));

    const page = await history(session.sessionId);
    const stored = page.messages[0];
    assert.deepEqual(done.data, { message: stored, sessionStatus: status });
    assert.deepEqual(stored, {
      id: replyId,
      content: text,
      authorId: ELIZA,
      isAgent: true,
      createdAt: iso(t0 + 1),
      metadata: {},
      attachments: [],
    });
    assert.deepEqual(page.messages[1], first.data.userMessage);
  });

  test('legacy mode "stream" means sse', async () => {
    const session = await createSession(server);
    const frames = await streamed(await send(session.sessionId, { content: 'Hello', mode: 'stream' }));
    assert.deepEqual([frames[0]!.event, frames.at(-1)!.event], ['user_message', 'done']);
  });
});

describe('activity', () => {
  test('a message renews: sessionStatus.wasRenewed, and the session shows it', async () => {
    const t0 = server.clock.now();
    const session = await createSession(server);
    server.clock.advance(10 * MINUTE);
    const res = await send(session.sessionId, { content: 'still here' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.sessionStatus, {
      expiresAt: iso(t0 + 40 * MINUTE),
      renewalCount: 1,
      wasRenewed: true,
      isNearExpiration: false,
    });
    await server.app.replies.idle();
    const info = (await server.request('GET', `${BASE}/${session.sessionId}`)).body;
    assert.equal(info.lastActivity, iso(t0 + 10 * MINUTE));
    assert.equal(info.renewalCount, 1);
    assert.equal(info.expiresAt, iso(t0 + 40 * MINUTE));
  });

  test('without autoRenew a message sets lastActivity only; isNearExpiration reported', async () => {
    const t0 = server.clock.now();
    const session = await createSession(server, { timeoutConfig: { autoRenew: false } });
    server.clock.advance(26 * MINUTE);
    const res = await send(session.sessionId, { content: 'still here', transport: 'http' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.sessionStatus, {
      expiresAt: iso(t0 + 30 * MINUTE),
      renewalCount: 0,
      wasRenewed: false,
      isNearExpiration: true,
    });
    const info = (await server.request('GET', `${BASE}/${session.sessionId}`)).body;
    assert.equal(info.lastActivity, iso(t0 + 26 * MINUTE));
    assert.equal(info.renewalCount, 0);
  });

  test('activity in the same millisecond as the last renewal still counts as one', async () => {
    // The domain's rule (src/domain/session.ts): only the max-duration cap refuses a renewal.
    const t0 = server.clock.now();
    const session = await createSession(server);
    const res = await send(session.sessionId, { content: 'right away' });
    assert.deepEqual(res.body.sessionStatus, {
      expiresAt: iso(t0 + 30 * MINUTE),
      renewalCount: 1,
      wasRenewed: true,
      isNearExpiration: false,
    });
    await server.app.replies.idle();
  });

  test('at the max-duration cap a message is not a renewal', async () => {
    const t0 = server.clock.now();
    const session = await createSession(server, { timeoutConfig: { timeoutMinutes: 30, maxDurationMinutes: 30 } });
    server.clock.advance(MINUTE);
    const res = await send(session.sessionId, { content: 'hi' });
    assert.deepEqual(res.body.sessionStatus, {
      expiresAt: iso(t0 + 30 * MINUTE),
      renewalCount: 0,
      wasRenewed: false,
      isNearExpiration: false,
    });
    await server.app.replies.idle();
  });
});

describe('Idempotency-Key', () => {
  /**
   * A replay is the first answer: the same user message (and agentResponse). Its sessionStatus
   * tells the session's state now; the replay itself renewed nothing.
   */
  function assertReplay(retry: ReplayedSend, first: ReplayedSend): void {
    const { sessionStatus: now, ...message } = retry;
    const { sessionStatus: then, ...original } = first;
    assert.deepEqual(message, original);
    assert.deepEqual(now, { ...then, wasRenewed: false });
  }

  test('http: a retry returns the first answer and stores nothing new', async () => {
    const session = await createSession(server);
    const headers = { 'idempotency-key': 'order-1' };
    const first = await send(session.sessionId, { content: 'Hello', transport: 'http' }, headers);
    assert.equal(first.status, 201, first.text);
    const retry = await send(session.sessionId, { content: 'Hello', transport: 'http' }, headers);
    assert.equal(retry.status, 201, retry.text);
    assertReplay(retry.body, first.body);
    const page = await history(session.sessionId);
    assert.deepEqual(
      page.messages.map((m) => m.id),
      [first.body.agentResponse.id, first.body.id],
    );
  });

  test('websocket: the replay carries agentResponse once the reply is stored', async () => {
    const session = await createSession(server);
    const headers = { 'idempotency-key': 'ws-1' };
    const first = await send(session.sessionId, { content: 'Hello' }, headers);
    assert.equal(first.status, 201, first.text);
    await server.app.replies.idle();
    const retry = await send(session.sessionId, { content: 'Hello' }, headers);
    assert.equal(retry.status, 201, retry.text);
    const { agentResponse, ...rest } = retry.body;
    assertReplay(rest, first.body);
    const page = await history(session.sessionId);
    assert.equal(page.messages.length, 2);
    assert.deepEqual(agentResponse, { id: page.messages[0]!.id, text: page.messages[0]!.content, createdAt: page.messages[0]!.createdAt });
    await server.app.replies.idle();
    assert.equal((await history(session.sessionId)).messages.length, 2, 'the agent did not run again');
  });

  test('sse: the replay is 201 JSON with the stored reply', async () => {
    const session = await createSession(server);
    const headers = { 'idempotency-key': 'sse-1' };
    const first = await send(session.sessionId, { content: 'Hello', transport: 'sse' }, headers);
    assert.equal(first.status, 200);
    const frames = parseSse(first.text);
    const done = frames.at(-1)!;
    const retry = await send(session.sessionId, { content: 'Hello', transport: 'sse' }, headers);
    assert.equal(retry.status, 201, retry.text);
    assert.match(retry.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(retry.body.id, frames[0]!.data.id);
    assert.deepEqual(retry.body.agentResponse, {
      id: done.data.message.id,
      text: done.data.message.content,
      createdAt: done.data.message.createdAt,
    });
    assert.equal((await history(session.sessionId)).messages.length, 2);
  });

  test('a replay is not activity', async () => {
    const session = await createSession(server);
    const t0 = server.clock.advance(MINUTE);
    const headers = { 'idempotency-key': 'quiet' };
    const first = await send(session.sessionId, { content: 'Hello', transport: 'http' }, headers);
    assert.equal(first.body.sessionStatus.renewalCount, 1);
    server.clock.advance(10 * MINUTE);
    const retry = await send(session.sessionId, { content: 'Hello', transport: 'http' }, headers);
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.body.createdAt, iso(t0));
    assert.equal(retry.body.sessionStatus.wasRenewed, false);
    const info = (await server.request('GET', `${BASE}/${session.sessionId}`)).body;
    assert.equal(info.lastActivity, iso(t0));
    assert.equal(info.renewalCount, 1);
    assert.equal(info.expiresAt, iso(t0 + 30 * MINUTE));
  });

  test('keys are scoped to their session; 255 characters are fine', async () => {
    const a = await createSession(server);
    const b = await createSession(server);
    const key = 'k'.repeat(255);
    const ra = await send(a.sessionId, { content: 'same' }, { 'idempotency-key': key });
    const rb = await send(b.sessionId, { content: 'same' }, { 'idempotency-key': key });
    assert.equal(ra.status, 201, ra.text);
    assert.equal(rb.status, 201, rb.text);
    assert.notEqual(ra.body.id, rb.body.id);
    await server.app.replies.idle();
  });
});

describe('history paging', () => {
  let paging: TestServer;
  let sessionId: string;
  /** Every message, newest first, as the history shows them. */
  let all: MessageView[];

  before(async () => {
    paging = await startServer();
    const session = await createSession(paging);
    sessionId = session.sessionId;
    const post = (content: string, transport = 'http') =>
      paging.request('POST', `${BASE}/${sessionId}/messages`, { body: { content, transport } });
    // Several in the same millisecond, then the clock moves, then three at once.
    assert.equal((await post('one')).status, 201);
    assert.equal((await post('two')).status, 201);
    paging.clock.advance(1000);
    assert.equal((await post('three')).status, 201);
    paging.clock.advance(5 * MINUTE);
    const burst = await Promise.all(['four', 'five', 'six'].map((c) => post(c, 'websocket')));
    assert.deepEqual(
      burst.map((r) => r.status),
      [201, 201, 201],
    );
    await paging.app.replies.idle();
    paging.clock.advance(1);
    assert.equal((await post('seven', 'websocket')).status, 201);
    await paging.app.replies.idle();
    all = (await history(sessionId, '?limit=100', paging)).messages;
  });
  after(() => paging.close());

  const page = (qs: string) => history(sessionId, qs, paging);

  test('newest first, createdAt strictly decreasing, every message once', async () => {
    assert.equal(all.length, 14);
    const times = all.map((m) => Date.parse(m.createdAt));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! > times[i]!, `createdAt not strictly decreasing at ${i}`);
    assert.equal(new Set(all.map((m) => m.id)).size, 14);
    assert.deepEqual(
      all
        .filter((m) => !m.isAgent)
        .map((m) => m.content)
        .sort(),
      ['five', 'four', 'one', 'seven', 'six', 'three', 'two'],
    );
    const unpaged = await page('');
    assert.deepEqual(unpaged, { messages: all, hasMore: false, cursors: { before: times.at(-1), after: times[0] } });
  });

  test('before=cursors.before visits every message exactly once', async () => {
    for (const limit of [2, 3, 5]) {
      const seen: MessageView[] = [];
      let qs = `?limit=${limit}`;
      for (let guard = 0; guard < 20; guard++) {
        const p = await page(qs);
        assert.ok(p.messages.length <= limit);
        const times = p.messages.map((m) => Date.parse(m.createdAt));
        assert.deepEqual(p.cursors, { before: Math.min(...times), after: Math.max(...times) });
        seen.push(...p.messages);
        if (!p.hasMore) break;
        qs = `?limit=${limit}&before=${p.cursors.before}`;
      }
      assert.deepEqual(seen, all, `limit ${limit}`);
    }
  });

  test('after=cursors.after reads forward without loss; each page newest first', async () => {
    const forward: MessageView[] = [];
    let qs = '?limit=3&after=0';
    for (let guard = 0; guard < 20; guard++) {
      const p = await page(qs);
      const times = p.messages.map((m) => Date.parse(m.createdAt));
      for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! > times[i]!);
      forward.push(...[...p.messages].reverse());
      if (!p.hasMore) break;
      qs = `?limit=3&after=${p.cursors.after}`;
    }
    assert.deepEqual(forward, [...all].reverse());

    // At the end, the same cursor reads nothing until something new arrives.
    const newest = Date.parse(all[0]!.createdAt);
    assert.deepEqual(await page(`?after=${newest}`), { messages: [], hasMore: false, cursors: { before: null, after: newest } });
  });

  test('before and after together: the newest `limit` strictly between them', async () => {
    const times = all.map((m) => Date.parse(m.createdAt));
    // Between the 2nd newest and the 9th newest, exclusive: six messages.
    const p = await page(`?after=${times[8]}&before=${times[1]}&limit=4`);
    assert.deepEqual(p, { messages: all.slice(2, 6), hasMore: true, cursors: { before: times[5], after: times[2] } });
    const rest = await page(`?after=${times[8]}&before=${p.cursors.before}&limit=4`);
    assert.deepEqual(rest, { messages: all.slice(6, 8), hasMore: false, cursors: { before: times[7], after: times[6] } });
    const empty = await page(`?after=${times[3]}&before=${times[2]}`);
    assert.deepEqual(empty, { messages: [], hasMore: false, cursors: { before: times[2], after: times[3] } });
  });

  test('ISO-8601 cursors with a zone mean the same instant; cursors come back in epoch ms', async () => {
    const t = Date.parse(all[4]!.createdAt);
    const byEpoch = await page(`?before=${t}&limit=3`);
    assert.deepEqual(await page(`?before=${encodeURIComponent(all[4]!.createdAt)}&limit=3`), byEpoch);
    const plusTwo = new Date(t + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    assert.deepEqual(await page(`?before=${encodeURIComponent(plusTwo)}&limit=3`), byEpoch);
    assert.deepEqual(
      await page(`?after=${encodeURIComponent(all[10]!.createdAt)}&limit=2`),
      await page(`?after=${Date.parse(all[10]!.createdAt)}&limit=2`),
    );
    const empty = await page(`?before=${encodeURIComponent('2000-01-01T00:00:00Z')}`);
    assert.deepEqual(empty, { messages: [], hasMore: false, cursors: { before: Date.parse('2000-01-01T00:00:00Z'), after: null } });
  });

  test('the default limit is 50 and 100 is allowed', async () => {
    const many = await startServer();
    try {
      const session = await createSession(many);
      for (let i = 0; i < 51; i++) {
        const res = await many.request('POST', `${BASE}/${session.sessionId}/messages`, {
          body: { content: `message ${i}`, transport: 'http' },
        });
        assert.equal(res.status, 201);
      }
      const first = await history(session.sessionId, '', many);
      assert.equal(first.messages.length, 50);
      assert.equal(first.hasMore, true);
      const hundred = await history(session.sessionId, '?limit=100', many);
      assert.equal(hundred.messages.length, 100);
      assert.equal(hundred.hasMore, true);
      const rest = await history(session.sessionId, `?limit=100&before=${hundred.cursors.before}`, many);
      assert.equal(rest.messages.length, 2);
      assert.equal(rest.hasMore, false);
    } finally {
      await many.close();
    }
  });
});

describe('an agent with thought and actions (webhook)', () => {
  let hook: FakeWebhook;
  before(async () => {
    hook = await startFakeWebhook({
      kind: 'json',
      body: { text: 'Noted.', thought: 'the user said something', actions: ['REPLY', 'NOTE'] },
    });
  });
  after(() => hook.close());

  test('agentResponse carries thought and actions; the stored reply keeps them in metadata', async () => {
    const agent = await server.request('POST', '/api/agents', { body: { name: 'Hooked', provider: { type: 'webhook', url: hook.url } } });
    assert.equal(agent.status, 201, agent.text);
    const t0 = server.clock.now();
    const session = await createSession(server, { agentId: agent.body.id });
    const res = await send(session.sessionId, { content: 'note this', transport: 'http' });
    assert.equal(res.status, 201, res.text);
    const reply = res.body.agentResponse;
    assert.deepEqual(reply, {
      id: reply.id,
      text: 'Noted.',
      thought: 'the user said something',
      actions: ['REPLY', 'NOTE'],
      createdAt: iso(t0 + 1),
    });
    const stored = (await history(session.sessionId)).messages[0]!;
    assert.equal(stored.id, reply.id);
    assert.equal(stored.authorId, agent.body.id);
    assert.deepEqual(stored.metadata, { thought: 'the user said something', actions: ['REPLY', 'NOTE'] });
  });
});
