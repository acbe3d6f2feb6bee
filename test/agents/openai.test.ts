/**
 * The `openai` provider end to end: the real server, the real `openai` client, and an
 * OpenAI-compatible server on a real port speaking the streaming wire protocol.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../support/fake-openai.js';
import { ADMIN_KEY, startServer, type TestServer } from '../support/server.js';
import type { AgentJson } from './helpers.js';
import {
  createAgent,
  dataFolderText,
  historyOf,
  metricValue,
  sendHttp,
  sendSse,
  sessionPath,
  sessionWith,
  startLoggedServer,
} from './helpers.js';
import { eventually, within } from '../support/wait.js';
import type { MessageView } from '../../src/domain/message.js';

const KEY_ENV = 'AGENT_SECRET_TEST_OPENAI_KEY';
const API_KEY = 'sk-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
process.env[KEY_ENV] = API_KEY;

let fake: FakeOpenAI;
let server: TestServer;
let agent: AgentJson;

/** The server closed its request to the model well before any timeout: the reply was cancelled. */
async function assertCancelled(upstream: RecordedRequest): Promise<void> {
  await within(upstream.closed, 500, 'the upstream request closing');
  assert.equal(upstream.abortedByClient, true, 'the upstream request was cancelled');
}

before(async () => {
  fake = await startFakeOpenAI();
  server = await startServer({ AGENT_TIMEOUT_SECONDS: '1', AGENT_HISTORY_MESSAGES: '3' });
  agent = await createAgent(
    server,
    {
      type: 'openai',
      baseUrl: fake.baseUrl,
      model: 'test-model',
      apiKeyEnv: KEY_ENV,
      temperature: 0.25,
      maxTokens: 64,
    },
    { system: 'You are terse.' },
  );
});
after(async () => {
  await server.close();
  await fake.close();
});
beforeEach(() => {
  fake.behaviour = { kind: 'stream', chunks: ['Hello', ', ', 'world', '.'] };
});

describe('the request', () => {
  test('carries the system prompt, the bounded history oldest first and the new message last', async () => {
    const session = await sessionWith(server, agent.id);
    const first = fake.requests.length;
    for (const content of ['one', 'two', 'three', 'four']) await sendHttp(server, session.sessionId, content);

    const sent = fake.requests.slice(first).map((r) => r.body);
    assert.equal(sent.length, 4);
    assert.deepEqual(sent[0].messages, [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'one' },
    ]);
    // AGENT_HISTORY_MESSAGES=3: of u1 r1 u2 r2 u3 r3, the last three, then the new message.
    assert.deepEqual(sent[3].messages, [
      { role: 'system', content: 'You are terse.' },
      { role: 'assistant', content: 'Hello, world.' },
      { role: 'user', content: 'three' },
      { role: 'assistant', content: 'Hello, world.' },
      { role: 'user', content: 'four' },
    ]);
    assert.equal(sent[3].model, 'test-model');
    assert.equal(sent[3].stream, true);
    assert.equal(sent[3].temperature, 0.25);
    assert.equal(sent[3].max_tokens, 64);
    const request = fake.requests[first]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/v1/chat/completions');
  });

  test('reads the key from the named variable and sends it as a bearer token, nowhere else', async () => {
    const session = await sessionWith(server, agent.id);
    const next = fake.nextRequest();
    await sendHttp(server, session.sessionId, 'hello');
    assert.equal((await next).headers.authorization, `Bearer ${API_KEY}`);

    const list = await server.request('GET', '/api/agents');
    assert.equal(list.status, 200);
    assert.ok(!list.text.includes(API_KEY));
    const listed = list.body.agents.find((a: { id: string }) => a.id === agent.id);
    assert.deepEqual(listed.provider, {
      type: 'openai',
      baseUrl: fake.baseUrl,
      model: 'test-model',
      apiKeyEnv: KEY_ENV,
      temperature: 0.25,
      maxTokens: 64,
    });
    const one = await server.request('GET', `/api/agents/${agent.id}`);
    assert.ok(!one.text.includes(API_KEY));
    const stored = await server.app.store.getAgent(agent.id);
    assert.ok(!JSON.stringify(stored).includes(API_KEY));
    assert.ok(!dataFolderText(server).includes(API_KEY), 'the key is nowhere in the database files');
  });

  test('without apiKeyEnv no Authorization header is sent, even with OPENAI_API_KEY in the environment', async () => {
    process.env.OPENAI_API_KEY = 'sk-ambient-should-not-leak';
    try {
      const keyless = await createAgent(server, { type: 'openai', baseUrl: fake.baseUrl, model: 'local' });
      const session = await sessionWith(server, keyless.id);
      const next = fake.nextRequest();
      const sent = await sendHttp(server, session.sessionId, 'hi');
      assert.equal(sent.agentResponse.text, 'Hello, world.');
      const request = await next;
      assert.equal(request.headers.authorization, undefined);
      assert.deepEqual(request.body.messages[0], { role: 'system', content: 'You are a test agent.' });
    } finally {
      delete process.env.OPENAI_API_KEY;
    }
  });

  test('a named key variable that is not set fails the reply without calling the endpoint', async () => {
    const unset = await createAgent(server, {
      type: 'openai',
      baseUrl: fake.baseUrl,
      model: 'm',
      apiKeyEnv: 'AGENT_SECRET_TEST_UNSET_KEY',
    });
    const session = await sessionWith(server, unset.id);
    const before = fake.requests.length;
    const sent = await sendHttp(server, session.sessionId, 'hi');
    assert.equal(sent.agentError.code, 'AGENT_UNAVAILABLE');
    assert.ok(!sent.agentError.message.includes('AGENT_SECRET_TEST_UNSET_KEY'), 'the variable name stays in the logs');
    assert.equal(fake.requests.length, before);
  });

  test('an agent stored naming a server setting (before the AGENT_SECRET_ rule) does not get it', async () => {
    // Written to the store directly: the API refuses such a name (test/agents/providers.test.ts).
    const now = server.clock.now();
    const id = '7e3f8a52-1d6b-4c0e-9a4f-2b8c5d7e9f01';
    await server.app.store.insertAgent({
      id,
      name: 'Old',
      system: '',
      provider: { type: 'openai', baseUrl: fake.baseUrl, model: 'm', apiKeyEnv: 'SESSIONS_API_KEY' },
      sessionDefaults: {},
      metadata: {},
      createdAt: now,
      updatedAt: now,
    });
    process.env.SESSIONS_API_KEY = ADMIN_KEY;
    try {
      const session = await sessionWith(server, id);
      const before = fake.requests.length;
      const sent = await sendHttp(server, session.sessionId, 'hi');
      assert.equal(sent.agentError.code, 'AGENT_UNAVAILABLE');
      assert.equal(fake.requests.length, before, 'the endpoint was not called');
    } finally {
      delete process.env.SESSIONS_API_KEY;
    }
  });
});

describe('replies', () => {
  test('http transport: agentResponse is the whole reply, stored as the agent', async () => {
    const session = await sessionWith(server, agent.id);
    const sent = await sendHttp(server, session.sessionId, 'hello');
    assert.equal(sent.agentResponse.text, 'Hello, world.');
    assert.equal(sent.agentError, undefined);
    const history = await historyOf(server, session.sessionId);
    assert.equal(history.length, 2);
    assert.deepEqual(
      history.map((m) => [m.isAgent, m.content]),
      [
        [false, 'hello'],
        [true, 'Hello, world.'],
      ],
    );
    assert.equal(history[1]?.id, sent.agentResponse.id);
    assert.equal(history[1]?.authorId, agent.id);
  });

  test('sse transport: chunks relayed in order, concatenating to the stored reply', async () => {
    fake.behaviour = { kind: 'stream', chunks: ['The ', 'quick ', 'brown ', 'fox ', 'jumps'], delayMs: 15 };
    const session = await sessionWith(server, agent.id);
    const { status, contentType, events } = await sendSse(server, session.sessionId, 'go');
    assert.equal(status, 200);
    assert.match(contentType ?? '', /^text\/event-stream/);
    assert.deepEqual(
      events.map((e) => e.event),
      ['user_message', 'chunk', 'chunk', 'chunk', 'chunk', 'chunk', 'done'],
    );
    const chunks = events.filter((e) => e.event === 'chunk').map((e) => e.data);
    assert.deepEqual(
      chunks.map((c) => c.chunk),
      ['The ', 'quick ', 'brown ', 'fox ', 'jumps'],
    );
    assert.deepEqual(
      chunks.map((c) => c.index),
      [0, 1, 2, 3, 4],
    );
    const done = events.at(-1)!.data;
    assert.ok(chunks.every((c) => c.messageId === done.message.id));
    assert.equal(done.message.content, 'The quick brown fox jumps');
    const history = await historyOf(server, session.sessionId);
    assert.equal(history[1]?.content, chunks.map((c) => c.chunk).join(''));
    assert.equal(history[1]?.id, done.message.id);
  });

  test('websocket transport: the reply is stored after the 201', async () => {
    const session = await sessionWith(server, agent.id);
    const res = await server.request('POST', sessionPath(session.sessionId, '/messages'), { body: { content: 'async please' } });
    assert.equal(res.status, 201);
    await server.app.replies.idle();
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['async please', 'Hello, world.'],
    );
  });

  test('streamed reasoning becomes the thought in metadata and in agentResponse', async () => {
    fake.behaviour = { kind: 'stream', chunks: ['42'], reasoning: ['Let me ', 'think.'] };
    const session = await sessionWith(server, agent.id);
    const sent = await sendHttp(server, session.sessionId, 'meaning of life?');
    assert.equal(sent.agentResponse.text, '42');
    assert.equal(sent.agentResponse.thought, 'Let me think.');
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(history[1]?.metadata, { thought: 'Let me think.' });
  });
});

describe('failures', () => {
  test('a model that stops streaming times out with AGENT_TIMEOUT within the configured second', async () => {
    fake.behaviour = { kind: 'hang', before: ['partial '] };
    const session = await sessionWith(server, agent.id);
    const next = fake.nextRequest();
    const started = performance.now();
    const sent = await sendHttp(server, session.sessionId, 'are you there?');
    const elapsed = performance.now() - started;
    assert.equal(sent.agentError.code, 'AGENT_TIMEOUT');
    assert.ok(elapsed >= 950 && elapsed < 4000, `timed out after ${Math.round(elapsed)} ms`);
    const upstream = await next;
    await assertCancelled(upstream);
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => [m.isAgent, m.content]),
      [[false, 'are you there?']],
    );
  });

  test('a model that never sends headers times out too', async () => {
    fake.behaviour = { kind: 'slow', delayMs: 5000, chunks: ['late'] };
    const session = await sessionWith(server, agent.id);
    const started = performance.now();
    const sent = await sendHttp(server, session.sessionId, 'hello?');
    const elapsed = performance.now() - started;
    assert.equal(sent.agentError.code, 'AGENT_TIMEOUT');
    assert.ok(elapsed < 4000, `timed out after ${Math.round(elapsed)} ms`);
  });

  test('HTTP 500 gives agentError; the user message stays; upstream text is not relayed', async () => {
    fake.behaviour = { kind: 'status', status: 500, message: 'internal upstream detail' };
    const session = await sessionWith(server, agent.id);
    const sent = await sendHttp(server, session.sessionId, 'hello');
    assert.equal(sent.agentError.code, 'AGENT_FAILED');
    assert.match(sent.agentError.message, /500/);
    assert.ok(!sent.agentError.message.includes('internal upstream detail'));
    assert.equal(sent.agentResponse, undefined);
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['hello'],
    );
  });

  test('a malformed stream gives an error event over sse, and nothing is stored for the agent', async () => {
    fake.behaviour = { kind: 'malformed', before: ['fine so far'] };
    const session = await sessionWith(server, agent.id);
    const { events } = await sendSse(server, session.sessionId, 'hello');
    assert.equal(events[0]!.event, 'user_message');
    const last = events.at(-1)!;
    assert.equal(last.event, 'error');
    assert.equal(last.data.code, 'AGENT_FAILED');
    assert.ok(!events.some((e) => e.event === 'done'));
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['hello'],
    );
  });

  test('a malformed stream over http gives agentError', async () => {
    fake.behaviour = { kind: 'malformed' };
    const session = await sessionWith(server, agent.id);
    const sent = await sendHttp(server, session.sessionId, 'hello');
    assert.equal(sent.agentError.code, 'AGENT_FAILED');
  });

  test('a stream cut off without finishing, or a dropped connection, is a failure, not a short reply', async () => {
    const session = await sessionWith(server, agent.id);
    fake.behaviour = { kind: 'truncated', chunks: ['Half a'] };
    const truncated = await sendHttp(server, session.sessionId, 'one');
    assert.equal(truncated.agentError.code, 'AGENT_FAILED');
    fake.behaviour = { kind: 'drop', before: ['Half a'] };
    const dropped = await sendHttp(server, session.sessionId, 'two');
    assert.equal(dropped.agentError.code, 'AGENT_FAILED');
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['one', 'two'],
    );
  });

  test('failures are counted by provider and code', async () => {
    const labels = { provider: 'openai', code: 'AGENT_FAILED' };
    const before = await metricValue('agent_failures_total', labels);
    fake.behaviour = { kind: 'status', status: 503 };
    const session = await sessionWith(server, agent.id);
    await sendHttp(server, session.sessionId, 'hello');
    assert.equal(await metricValue('agent_failures_total', labels), before + 1);
    assert.ok((await metricValue('agent_replies_total', { provider: 'openai', outcome: 'ok' })) > 0);
  });
});

describe('cancellation', () => {
  test('a client that disconnects mid-stream does not cancel: the reply is stored and emitted (SPEC §10)', async () => {
    let release!: () => void;
    fake.behaviour = { kind: 'gated', before: ['first ', 'second '], release: new Promise<void>((r) => (release = r)), after: ['third'] };
    const session = await sessionWith(server, agent.id);
    const next = fake.nextRequest();
    const { events } = await sendSse(server, session.sessionId, 'talk to me', { disconnectAfter: 1 });
    assert.equal(events.at(-1)!.event, 'chunk');
    const upstream = await next;
    release();
    await server.app.replies.idle();
    assert.equal(upstream.abortedByClient, false, 'the upstream request ran to its end');
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['talk to me', 'first second third'],
    );
    const stored = await server.app.store.eventsAfter(session.sessionId, 0, 100);
    const created = stored.filter((e) => e.type === 'message.created').map((e) => (e.data as { message: MessageView }).message.content);
    assert.deepEqual(created, ['talk to me', 'first second third'], 'on /events too');
  });

  test('a client of the http transport that gives up does not cancel either', async () => {
    let release!: () => void;
    fake.behaviour = { kind: 'gated', before: ['thinking '], release: new Promise<void>((r) => (release = r)), after: ['done'] };
    const session = await sessionWith(server, agent.id);
    const next = fake.nextRequest();
    const client = new AbortController();
    const pending = fetch(server.url + sessionPath(session.sessionId, '/messages'), {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'never mind', transport: 'http' }),
      signal: client.signal,
    }).catch((error: unknown) => error);
    const upstream = await next;
    client.abort();
    await pending;
    release();
    await server.app.replies.idle();
    assert.equal(upstream.abortedByClient, false);
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['never mind', 'thinking done'],
    );
  });

  test('ending the session cancels the upstream request', async () => {
    fake.behaviour = { kind: 'hang', before: ['thinking '] };
    const session = await sessionWith(server, agent.id);
    const next = fake.nextRequest();
    const pending = sendHttp(server, session.sessionId, 'long question');
    const upstream = await next;
    const del = await server.request('DELETE', sessionPath(session.sessionId));
    assert.equal(del.status, 200);
    await assertCancelled(upstream);
    const sent = await pending;
    assert.equal(sent.agentError.code, 'AGENT_CANCELLED');
  });

  test('the session expiring cancels the upstream request; nothing is stored for it', async () => {
    fake.behaviour = { kind: 'hang', before: ['thinking '] };
    const session = await sessionWith(server, agent.id);
    const next = fake.nextRequest();
    const pending = sendHttp(server, session.sessionId, 'still there?');
    const upstream = await next;
    server.clock.advance(30 * 60_000); // the default 30-minute timeout: expiresAt now
    const emitted = await server.app.scheduler.tick();
    assert.ok(emitted.some((e) => e.type === 'session.expired' && e.sessionId === session.sessionId));
    await assertCancelled(upstream);
    const sent = await pending;
    assert.equal(sent.agentError.code, 'AGENT_CANCELLED');
    const stored = await server.app.store.listMessages(session.sessionId, { order: 'desc', fetch: 10 });
    assert.deepEqual(
      stored.map((m) => m.content),
      ['still there?'],
    );
  });
});

describe('queued replies', () => {
  test('a turn that waited keeps the history before its own message', async () => {
    const local = await startServer({ AGENT_TIMEOUT_SECONDS: '5', AGENT_HISTORY_MESSAGES: '1' });
    try {
      const queued = await createAgent(local, { type: 'openai', baseUrl: fake.baseUrl, model: 'm' }, { system: '' });
      const session = await sessionWith(local, queued.id);
      fake.behaviour = { kind: 'stream', chunks: ['slow', ' reply'], delayMs: 100 };
      const first = fake.requests.length;
      for (const content of ['u1', 'u2', 'u3']) {
        const res = await local.request('POST', sessionPath(session.sessionId, '/messages'), { body: { content } });
        assert.equal(res.status, 201);
      }
      await local.app.replies.idle();
      const sent = fake.requests.slice(first).map((r) => r.body.messages);
      // One at a time, in order; each sees the one message before its own.
      assert.deepEqual(sent, [
        [{ role: 'user', content: 'u1' }],
        [
          { role: 'user', content: 'u1' },
          { role: 'user', content: 'u2' },
        ],
        [
          { role: 'user', content: 'u2' },
          { role: 'user', content: 'u3' },
        ],
      ]);
      const history = await historyOf(local, session.sessionId);
      assert.deepEqual(
        history.map((m) => m.content),
        ['u1', 'u2', 'u3', 'slow reply', 'slow reply', 'slow reply'],
      );
    } finally {
      await local.close();
    }
  });
});

describe('logs', () => {
  test('a failure is logged with agent, provider, code and cause, and the key is never logged', async () => {
    const logged = await startLoggedServer({ AGENT_TIMEOUT_SECONDS: '1' });
    try {
      const keyed = await createAgent(logged, { type: 'openai', baseUrl: fake.baseUrl, model: 'm', apiKeyEnv: KEY_ENV });
      const session = await sessionWith(logged, keyed.id);
      fake.behaviour = { kind: 'status', status: 500, message: `echoing your key ${API_KEY}` };
      await sendHttp(logged, session.sessionId, 'hello');
      fake.behaviour = { kind: 'stream', chunks: ['fine'] };
      await sendHttp(logged, session.sessionId, 'again');
      await eventually(() => logged.logs().some((l) => l.msg === 'agent reply failed'), 'the failure log line', { ms: 1000 });
      const line = logged.logs().find((l) => l.msg === 'agent reply failed')!;
      assert.equal(line.agentId, keyed.id);
      assert.equal(line.provider, 'openai');
      assert.equal(line.code, 'AGENT_FAILED');
      assert.match(String(line.reason), /HTTP 500/);
      assert.ok(!logged.logText().includes(API_KEY), 'the key never reaches the logs');
    } finally {
      await logged.close();
    }
  });
});
