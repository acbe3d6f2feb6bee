/**
 * Sending messages and reading history when the request is wrong (content, attachments,
 * metadata, Idempotency-Key, pagination) or the agent fails. A refused message stores nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeWebhook, type FakeWebhook } from '../support/fake-webhook.js';
import { createSession, startServer, type TestResponse, type TestServer } from '../support/server.js';
import type { MessageView } from '../../src/domain/message.js';

const BASE = '/api/messaging/sessions';

function assertError(res: TestResponse, status: number, code: string, field?: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body?.success, false, res.text);
  assert.equal(res.body.error.code, code, res.text);
  assert.equal(typeof res.body.error.message, 'string');
  if (field !== undefined) {
    assert.equal(typeof res.body.error.details, 'string', res.text);
    assert.ok(res.body.error.details.includes(field), `details should name ${field}: ${res.body.error.details}`);
  }
  assert.doesNotMatch(res.text, /\n\s+at /);
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const send = (id: string, body: unknown, headers?: Record<string, string>) =>
  server.request('POST', `${BASE}/${id}/messages`, { body, headers });
const sendRaw = (id: string, raw: string) =>
  server.request('POST', `${BASE}/${id}/messages`, { raw, headers: { 'content-type': 'application/json' } });

/** Nothing was stored: neither through the API nor underneath it. */
async function assertNothingStored(id: string, s: TestServer = server): Promise<void> {
  await s.app.replies.idle();
  const page = await s.request('GET', `${BASE}/${id}/messages`);
  assert.equal(page.status, 200, page.text);
  assert.deepEqual(page.body.messages, []);
  assert.deepEqual(await s.app.store.recentMessages(id, 10), []);
  const info = await s.request('GET', `${BASE}/${id}`);
  assert.equal(info.body.renewalCount, 0, 'a refused message is not activity');
}

describe('content', () => {
  test('missing, not a string, empty or only whitespace: 400 naming content', async () => {
    const { sessionId } = await createSession(server);
    for (const body of [
      {},
      { content: 42 },
      { content: null },
      { content: ['hi'] },
      { content: '' },
      { content: ' \n\t\r ' },
      { content: '\u00a0\u2003' },
    ]) {
      assertError(await send(sessionId, body), 400, 'VALIDATION_ERROR', 'content');
    }
    await assertNothingStored(sessionId);
  });

  test('at most 10,000 code points, counted as code points', async () => {
    const { sessionId } = await createSession(server);
    assertError(await send(sessionId, { content: 'a'.repeat(10_001) }), 400, 'VALIDATION_ERROR', 'content');
    assertError(await send(sessionId, { content: '😀'.repeat(10_001) }), 400, 'VALIDATION_ERROR', 'content');
    await assertNothingStored(sessionId);

    const ascii = await send(sessionId, { content: 'a'.repeat(10_000) });
    assert.equal(ascii.status, 201, ascii.text);
    // 10,000 emoji are 20,000 UTF-16 units but 10,000 characters: allowed, stored exactly.
    const emoji = '😀'.repeat(10_000);
    const astral = await send(sessionId, { content: emoji });
    assert.equal(astral.status, 201, astral.text);
    assert.equal((await server.app.store.getMessage(astral.body.id))?.content, emoji);
    await server.app.replies.idle();
  });

  test('NUL and other C0 controls, and unpaired surrogates, are refused; tab, CR and LF are fine', async () => {
    const { sessionId } = await createSession(server);
    for (const content of ['nul\u0000here', 'bell\u0007', 'esc\u001b[31m', 'vt\u000b', 'ff\u000c', '\u001f']) {
      assertError(await send(sessionId, { content }), 400, 'VALIDATION_ERROR', 'content');
    }
    for (const raw of ['{"content":"half \\ud83d pair"}', '{"content":"\\ude00 low"}']) {
      assertError(await sendRaw(sessionId, raw), 400, 'VALIDATION_ERROR', 'content');
    }
    await assertNothingStored(sessionId);
    const ok = await send(sessionId, { content: 'line one\r\n\tline two\n' });
    assert.equal(ok.status, 201, ok.text);
    await server.app.replies.idle();
  });

  test('standard policy: markup is inert text, stored byte-exact', async () => {
    const { sessionId } = await createSession(server);
    const content = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const res = await send(sessionId, { content });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.content, content);
    assert.equal((await server.app.store.getMessage(res.body.id))?.content, content);
    await server.app.replies.idle();
  });

  test('CONTENT_POLICY=strict refuses active HTML, and only that', async () => {
    const strict = await startServer({ CONTENT_POLICY: 'strict' });
    try {
      const { sessionId } = await createSession(strict);
      for (const content of [
        '<script>alert(1)</script>',
        'before <SCRIPT src="x.js"></SCRIPT>',
        '<iframe src="https://example.com">',
        '<a href="javascript:alert(1)">click</a>',
        '<img src=x onerror=alert(1)>',
        '<div onclick = "steal()">',
      ]) {
        assertError(
          await strict.request('POST', `${BASE}/${sessionId}/messages`, { body: { content } }),
          400,
          'VALIDATION_ERROR',
          'content',
        );
      }
      await assertNothingStored(sessionId, strict);
      const plain = await strict.request('POST', `${BASE}/${sessionId}/messages`, { body: { content: 'is 3 < 4 > 2? <b>yes</b>' } });
      assert.equal(plain.status, 201, plain.text);
      await strict.app.replies.idle();
    } finally {
      await strict.close();
    }
  });
});

describe('attachments', () => {
  const att = (i: number) => ({ type: 'file', url: `https://example.com/${i}.txt` });

  test('more than 10: 400', async () => {
    const { sessionId } = await createSession(server);
    assertError(
      await send(sessionId, { content: 'files', attachments: Array.from({ length: 11 }, (_, i) => att(i)) }),
      400,
      'VALIDATION_ERROR',
      'attachments',
    );
    await assertNothingStored(sessionId);
    const ten = await send(sessionId, { content: 'files', attachments: Array.from({ length: 10 }, (_, i) => att(i)) });
    assert.equal(ten.status, 201, ten.text);
    assert.equal(ten.body.attachments.length, 10);
    await server.app.replies.idle();
  });

  test('http and https URLs only; known types; known fields', async () => {
    const { sessionId } = await createSession(server);
    for (const attachment of [
      { type: 'file', url: 'ftp://example.com/a.txt' },
      { type: 'file', url: 'javascript:alert(1)' },
      { type: 'file', url: 'file:///etc/passwd' },
      { type: 'file', url: 'not a url' },
      { type: 'file' },
      { url: 'https://example.com/a' },
      { type: 'executable', url: 'https://example.com/a.exe' },
      { type: 'image', url: 'https://example.com/a.png', size: -1 },
      { type: 'image', url: 'https://example.com/a.png', size: '12' },
      { type: 'image', url: 'https://example.com/a.png', owner: 'me' },
    ]) {
      assertError(await send(sessionId, { content: 'see attached', attachments: [attachment] }), 400, 'VALIDATION_ERROR', 'attachments');
    }
    assertError(await send(sessionId, { content: 'x', attachments: { type: 'file' } }), 400, 'VALIDATION_ERROR', 'attachments');
    await assertNothingStored(sessionId);
  });
});

describe('metadata', () => {
  test('over 16 KiB, deeper than 5 levels or with prototype keys: 400 and nothing stored', async () => {
    const { sessionId } = await createSession(server);
    const oversized = { blob: 'x'.repeat(16_384) };
    const sixLevels = { a: { b: { c: { d: { e: { f: 1 } } } } } };
    for (const metadata of [oversized, sixLevels, { list: [[[[['deep']]]]] }, [1], 'meta', 7]) {
      assertError(await send(sessionId, { content: 'hello', metadata }), 400, 'VALIDATION_ERROR', 'metadata');
    }
    for (const raw of [
      '{"content":"hello","metadata":{"__proto__":{"isAdmin":true}}}',
      '{"content":"hello","metadata":{"a":{"constructor":{"prototype":{"x":1}}}}}',
      '{"content":"hello","metadata":{"prototype":1}}',
      '{"content":"hello","__proto__":{"transport":"http"}}',
    ]) {
      assertError(await sendRaw(sessionId, raw), 400, 'VALIDATION_ERROR');
    }
    await assertNothingStored(sessionId);

    // Multi-byte characters count as their UTF-8 bytes.
    const euros = { s: '€'.repeat(5_462) }; // 16,386 bytes of characters alone
    assertError(await send(sessionId, { content: 'hello', metadata: euros }), 400, 'VALIDATION_ERROR', 'metadata');
    await assertNothingStored(sessionId);

    const fiveLevels = { a: { b: { c: { d: { e: 1 } } } } };
    const ok = await send(sessionId, { content: 'hello', metadata: fiveLevels });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.body.metadata, fiveLevels);
    await server.app.replies.idle();
  });
});

describe('transport', () => {
  test('unknown transport or mode: 400', async () => {
    const { sessionId } = await createSession(server);
    assertError(await send(sessionId, { content: 'hi', transport: 'pigeon' }), 400, 'VALIDATION_ERROR', 'transport');
    assertError(await send(sessionId, { content: 'hi', mode: 'async' }), 400, 'VALIDATION_ERROR', 'mode');
    await assertNothingStored(sessionId);
  });
});

describe('Idempotency-Key', () => {
  test('more than 255 characters, or empty: 400, nothing stored', async () => {
    const { sessionId } = await createSession(server);
    assertError(
      await send(sessionId, { content: 'hi' }, { 'idempotency-key': 'k'.repeat(256) }),
      400,
      'VALIDATION_ERROR',
      'Idempotency-Key',
    );
    assertError(await send(sessionId, { content: 'hi' }, { 'idempotency-key': '' }), 400, 'VALIDATION_ERROR', 'Idempotency-Key');
    await assertNothingStored(sessionId);
  });

  test('the same key with a different body: 409 CONFLICT, nothing new stored', async () => {
    const { sessionId } = await createSession(server);
    const headers = { 'idempotency-key': 'once' };
    const first = await send(sessionId, { content: 'first', transport: 'http' }, headers);
    assert.equal(first.status, 201, first.text);
    for (const body of [
      { content: 'second', transport: 'http' },
      { content: 'first' },
      { content: 'first', transport: 'http', metadata: { x: 1 } },
    ]) {
      assertError(await send(sessionId, body, headers), 409, 'CONFLICT', 'Idempotency-Key');
    }
    await server.app.replies.idle();
    const page = await server.request('GET', `${BASE}/${sessionId}/messages`);
    assert.deepEqual(
      page.body.messages.map((m: MessageView) => m.id),
      [first.body.agentResponse.id, first.body.id],
    );
  });
});

describe('history: invalid pagination', () => {
  test('limit outside 1–100 or not an integer, cursors that are not epoch ms or zoned ISO: 400 INVALID_PAGINATION', async () => {
    const { sessionId } = await createSession(server);
    for (const [qs, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=', 'limit'],
      ['before=yesterday', 'before'],
      ['before=2026-01-01', 'before'],
      ['before=2026-01-01T00:00:00', 'before'],
      ['before=1e12', 'before'],
      ['before=-5', 'before'],
      ['before=2026-13-45T99:99:99Z', 'before'],
      ['after=abc', 'after'],
      ['after=', 'after'],
      ['after=2026-01-01T00:00:00.000Z&limit=500', 'limit'],
    ]) {
      assertError(await server.request('GET', `${BASE}/${sessionId}/messages?${qs}`), 400, 'INVALID_PAGINATION', field);
    }
  });
});

describe('when the agent fails', () => {
  let hook: FakeWebhook;
  before(async () => {
    hook = await startFakeWebhook({ kind: 'status', status: 500 });
  });
  after(() => hook.close());

  async function brokenSession() {
    const agent = await server.request('POST', '/api/agents', { body: { name: 'Broken', provider: { type: 'webhook', url: hook.url } } });
    assert.equal(agent.status, 201, agent.text);
    return createSession(server, { agentId: agent.body.id });
  }

  test('http: still 201, with agentError {code, message}; the user message stays stored', async () => {
    const { sessionId } = await brokenSession();
    const res = await send(sessionId, { content: 'hello?', transport: 'http' });
    assert.equal(res.status, 201, res.text);
    assert.equal('agentResponse' in res.body, false);
    assert.deepEqual(Object.keys(res.body.agentError).sort(), ['code', 'message']);
    assert.match(res.body.agentError.code, /^AGENT_/);
    const page = await server.request('GET', `${BASE}/${sessionId}/messages`);
    assert.deepEqual(page.body.messages, [res.body.userMessage]);
  });

  test('sse: user_message, then an error frame {code, message}', async () => {
    const { sessionId } = await brokenSession();
    const res = await send(sessionId, { content: 'hello?', transport: 'sse' });
    assert.equal(res.status, 200);
    const events = res.text
      .split('\n\n')
      .filter((b) => /^event: /m.test(b))
      .map((b) => /^event: (.*)$/m.exec(b)![1]);
    assert.deepEqual(events, ['user_message', 'error']);
    const errorFrame = JSON.parse(/event: error\ndata: (.*)/.exec(res.text)![1]!);
    assert.deepEqual(Object.keys(errorFrame).sort(), ['code', 'message']);
    const page = await server.request('GET', `${BASE}/${sessionId}/messages`);
    assert.equal(page.body.messages.length, 1);
  });
});

describe('a duplicate while the first is still being processed', () => {
  let hook: FakeWebhook;
  let release: () => void = () => {};
  before(async () => {
    hook = await startFakeWebhook({ kind: 'gated', release: new Promise<void>((resolve) => (release = resolve)), text: 'Finally.' });
  });
  after(() => {
    release();
    return hook.close();
  });

  test('409 CONFLICT; once answered, the retry gets the answer', async () => {
    const agent = await server.request('POST', '/api/agents', { body: { name: 'Slow', provider: { type: 'webhook', url: hook.url } } });
    const { sessionId } = await createSession(server, { agentId: agent.body.id });
    const headers = { 'idempotency-key': 'slow-1' };
    const body = { content: 'take your time', transport: 'http' };
    const arrived = hook.nextRequest();
    const first = send(sessionId, body, headers);
    await arrived;
    assertError(await send(sessionId, body, headers), 409, 'CONFLICT', 'Idempotency-Key');
    release();
    const answered = await first;
    assert.equal(answered.status, 201, answered.text);
    assert.equal(answered.body.agentResponse.text, 'Finally.');
    const retry = await send(sessionId, body, headers);
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.body.id, answered.body.id);
    assert.deepEqual(retry.body.agentResponse, answered.body.agentResponse);
    const page = await server.request('GET', `${BASE}/${sessionId}/messages`);
    assert.equal(page.body.messages.length, 2);
  });
});
