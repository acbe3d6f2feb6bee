/**
 * SPEC §10 on a fleet: two instances on one PostgreSQL database and one Redis. A reply running
 * on one instance is cancelled from the other, within 1 s; the other instance knows the session
 * is busy (reject) and can interrupt it. Runs in the scaled pass (TEST_STORE=postgres).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withInstances } from '../support/instances.js';
import type { TestServer } from '../support/server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { within } from '../support/wait.js';
import { createAgent, sendHttp, sessionPath, sessionWith } from '../agents/helpers.js';
import type { MessageView } from '../../src/domain/message.js';

const scaled = process.env.TEST_STORE === 'postgres';
const skip = scaled ? false : 'scaled mode only (runs in the PostgreSQL + Redis pass)';

/** Two instances on one database and Redis, a model that hangs, an agent on it and a session. */
async function fleet(fn: (f: { a: TestServer; b: TestServer; fake: FakeOpenAI; sessionId: string }) => Promise<void>): Promise<void> {
  await withInstances(2, { AGENT_TIMEOUT_SECONDS: '30' }, async ({ all }) => {
    const [a, b] = all as [TestServer, TestServer];
    const fake = await startFakeOpenAI({ kind: 'hang', before: ['thinking '] });
    try {
      const agent = await createAgent(a, { type: 'openai', baseUrl: fake.baseUrl, model: 'm' });
      const session = await sessionWith(a, agent.id);
      await fn({ a, b, fake, sessionId: session.sessionId });
    } finally {
      await fake.close();
    }
  });
}

test('a reply running on B is cancelled from A; B knows the session is busy for A', { skip }, () =>
  fleet(async ({ a, b, fake, sessionId }) => {
    const upstreamRequest = fake.nextRequest();
    const pending = sendHttp(b, sessionId, 'a long question, to B');
    const upstream = await upstreamRequest;

    // A sees B's reply under way: a rejecting send is refused there.
    const refused = await a.request('POST', sessionPath(sessionId, '/messages'), { body: { content: 'no', ifBusy: 'reject' } });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.error.code, 'REPLY_IN_PROGRESS');

    const started = Date.now();
    const cancelled = await a.request('POST', sessionPath(sessionId, '/cancel'));
    assert.equal(cancelled.status, 200, cancelled.text);
    await within(upstream.closed, 1000, 'the upstream request on B closing');
    assert.equal(upstream.abortedByClient, true);
    const sent = await within(pending, 1000, "B's http send answering");
    assert.ok(Date.now() - started < 1000, 'within 1 s');
    assert.deepEqual(cancelled.body, { cancelled: [sent.id] });
    assert.equal(sent.agentError.code, 'AGENT_CANCELLED');

    await Promise.all([a.app.replies.idle(), b.app.replies.idle()]);
    const events = await a.app.store.eventsAfter(sessionId, 0, 100);
    assert.deepEqual(
      events.filter((e) => e.type === 'message.cancelled').map((e) => e.data),
      [{ messageId: sent.id }],
      'emitted once',
    );
    const history = await a.request('GET', sessionPath(sessionId, '/messages'));
    assert.deepEqual(
      history.body.messages.map((m: MessageView) => m.content),
      ['a long question, to B'],
      'no agent message',
    );
  }),
);

test('an interrupting send on A cancels the reply running on B, then is answered', { skip }, () =>
  fleet(async ({ a, b, fake, sessionId }) => {
    const upstreamRequest = fake.nextRequest();
    const first = sendHttp(b, sessionId, 'first, to B');
    const upstream = await upstreamRequest;
    fake.behaviour = { kind: 'stream', chunks: ['second answer'] };
    const second = await a.request('POST', sessionPath(sessionId, '/messages'), {
      body: { content: 'second, to A', transport: 'http', ifBusy: 'interrupt' },
    });
    assert.equal(second.status, 201, second.text);
    assert.equal(second.body.agentResponse.text, 'second answer');
    assert.equal((await first).agentError.code, 'AGENT_CANCELLED');
    assert.equal(upstream.abortedByClient, true);
    await Promise.all([a.app.replies.idle(), b.app.replies.idle()]);
    const history = await a.request('GET', sessionPath(sessionId, '/messages'));
    assert.deepEqual(history.body.messages.map((m: MessageView) => m.content).reverse(), ['first, to B', 'second, to A', 'second answer']);
  }),
);
