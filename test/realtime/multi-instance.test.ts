/**
 * Scaled mode: two instances on one PostgreSQL database and one Redis. A subscriber on one
 * instance sees what the other stores, and lifecycle events are emitted once however many
 * instances tick. Runs in the scaled pass of the test runner (TEST_STORE=postgres).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { withInstances } from '../support/instances.js';
import { ADMIN_KEY, createSession, type TestServer } from '../support/server.js';
import { openSse } from '../support/sse-client.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { within } from '../support/wait.js';
import { createAgent, sendHttp, sessionPath, sessionWith } from '../agents/helpers.js';
import type { MessageView } from '../../src/domain/message.js';

const scaled = process.env.TEST_STORE === 'postgres';

test(
  'events cross instances; lifecycle events are emitted exactly once',
  { skip: scaled ? false : 'scaled mode only (runs in the PostgreSQL + Redis pass)' },
  async () => {
    await withInstances(2, {}, async ({ all, clock }) => {
      const [a, b] = all as [TestServer, TestServer];
      const s = await createSession(a, { timeoutConfig: { timeoutMinutes: 5, warningThresholdMinutes: 1 } });
      const onB = await openSse(`${b.url}/api/messaging/sessions/${s.sessionId}/events`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      const sent = await a.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, {
        body: { content: 'hello from A', transport: 'http' },
      });
      assert.equal(sent.status, 201);
      assert.equal((await onB.next()).event, 'session.created', 'the stream starts from the first event');
      const first = await onB.next();
      assert.equal(first.event, 'message.created');
      assert.equal(first.data.data.message.id, sent.body.id);

      clock.advance(5 * MINUTE);
      const [fromA, fromB] = await Promise.all([a.app.scheduler.tick(), b.app.scheduler.tick()]);
      assert.equal(fromA.length + fromB.length, 2, 'warning and expiry, once in all');
      const lifecycle = (await a.app.store.eventsAfter(s.sessionId, 0, 100)).filter(
        (e) => e.type.startsWith('session.') && e.type !== 'session.renewed',
      );
      assert.deepEqual(
        lifecycle.map((e) => e.type),
        ['session.created', 'session.warning', 'session.expired'],
      );
      const seqs = (await a.app.store.eventsAfter(s.sessionId, 0, 100)).map((e) => e.seq);
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => i + 1),
        'no gaps, no duplicates',
      );
      onB.close();
    });
  },
);

test(
  'a session deleted on one instance cancels the reply running on another',
  { skip: scaled ? false : 'scaled mode only (runs in the PostgreSQL + Redis pass)' },
  async () => {
    await withInstances(2, { AGENT_TIMEOUT_SECONDS: '30' }, async ({ all }) => {
      const [a, b] = all as [TestServer, TestServer];
      const fake = await startFakeOpenAI({ kind: 'hang', before: ['thinking '] });
      try {
        const agent = await createAgent(a, { type: 'openai', baseUrl: fake.baseUrl, model: 'm' });
        const session = await sessionWith(a, agent.id);
        const upstreamRequest = fake.nextRequest();
        const pending = sendHttp(a, session.sessionId, 'a long question');
        const upstream = await upstreamRequest;
        const deleted = await b.request('DELETE', sessionPath(session.sessionId));
        assert.equal(deleted.status, 200, deleted.text);
        // Far below the 30 s reply timeout: the session.ended event crossed over through Redis.
        await within(upstream.closed, 2000, 'the upstream request on instance A closing');
        assert.equal(upstream.abortedByClient, true);
        const sent = await pending;
        assert.equal(sent.agentError.code, 'AGENT_CANCELLED');
      } finally {
        await fake.close();
      }
    });
  },
);

test(
  'replies of one session are produced one at a time across instances',
  { skip: scaled ? false : 'scaled mode only (runs in the PostgreSQL + Redis pass)' },
  async () => {
    await withInstances(2, {}, async ({ all }) => {
      const [a, b] = all as [TestServer, TestServer];
      const fake = await startFakeOpenAI({ kind: 'stream', chunks: ['one ', 'two ', 'three'], delayMs: 80 });
      try {
        const agent = await createAgent(a, { type: 'openai', baseUrl: fake.baseUrl, model: 'm' });
        const session = await sessionWith(a, agent.id);
        const firstRequest = fake.nextRequest();
        const toA = await a.request('POST', sessionPath(session.sessionId, '/messages'), { body: { content: 'first, to A' } });
        assert.equal(toA.status, 201, toA.text);
        const first = await firstRequest;
        let firstClosed = false;
        void first.closed.then(() => (firstClosed = true));

        const secondRequest = fake.nextRequest();
        const toB = await b.request('POST', sessionPath(session.sessionId, '/messages'), { body: { content: 'second, to B' } });
        assert.equal(toB.status, 201, toB.text);
        const second = await secondRequest;
        assert.equal(firstClosed, true, "B called the model only after A's reply was over");
        assert.equal(second.body.messages.at(-1).content, 'second, to B');

        await Promise.all([a.app.replies.idle(), b.app.replies.idle()]);
        const history = await a.request('GET', sessionPath(session.sessionId, '/messages?limit=10'));
        assert.deepEqual(history.body.messages.map((m: MessageView) => m.content).reverse(), [
          'first, to A',
          'second, to B',
          'one two three',
          'one two three',
        ]);
      } finally {
        await fake.close();
      }
    });
  },
);
