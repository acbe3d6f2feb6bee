/**
 * The store away while an agent is answering (PostgreSQL restarting, a connection cut): the reply
 * the agent produced waits for the store and is stored once it is back, with its chunks in
 * order, as long as that happens before the reply's deadline; past the deadline the reply fails
 * as any other and nothing of it is stored. PostgreSQL is real; a TCP proxy in front of it is
 * what goes away.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { startFakeOpenAI, type FakeOpenAI, type OpenAIBehaviour } from '../support/fake-openai.js';
import { ManualClock } from '../support/clock.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';
import { startServer, type TestServer } from '../support/server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { eventually, within } from '../support/wait.js';
import { createAgent, historyOf, sessionPath, sessionWith } from './helpers.js';

const skip = process.env.TEST_POSTGRES === '0' ? 'PostgreSQL not reachable' : undefined;

describe('an agent reply while the store is away', { skip }, () => {
  let databaseUrl: string;
  let proxy: TcpProxy;
  let fake: FakeOpenAI;
  const dirs: string[] = [];
  const servers: TestServer[] = [];
  /** Every gate a test holds the fake's reply at, opened after each test: a failed test leaves no reply hanging. */
  const gates: Array<() => void> = [];
  const gate = () => {
    let open!: () => void;
    const release = new Promise<void>((resolve) => (open = resolve));
    gates.push(open);
    return { release, open };
  };

  afterEach(() => {
    proxy.restore();
    for (const open of gates.splice(0)) open();
  });

  before(async () => {
    databaseUrl = await createTestDatabase();
    const direct = new URL(databaseUrl);
    proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    fake = await startFakeOpenAI();
  });

  after(async () => {
    proxy.restore();
    for (const server of servers) await server.close({ keepData: true });
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await proxy.close();
    await fake.close();
    await dropTestDatabase(databaseUrl);
  });

  /** A server on the test database, through the proxy (PostgreSQL, no Redis: one instance). */
  async function serverThroughProxy(timeoutSeconds: number): Promise<TestServer> {
    const proxied = new URL(databaseUrl);
    proxied.port = String(proxy.port);
    const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-outage-'));
    dirs.push(dir);
    const server = await startServer({ AGENT_TIMEOUT_SECONDS: String(timeoutSeconds), REDIS_URL: '' }, new ManualClock(), {
      dir,
      databaseUrl: proxied.toString(),
    });
    servers.push(server);
    return server;
  }

  const eventsOf = (server: TestServer, sessionId: string) => server.app.store.eventsAfter(sessionId, 0, 1000);

  /**
   * A server through the proxy, an OpenAI-compatible agent answering as `behaviour`, and a
   * session whose `http` send of `content` is under way: returned once the model has the request.
   */
  async function sendingThroughProxy(timeoutSeconds: number, behaviour: OpenAIBehaviour, content: string) {
    const server = await serverThroughProxy(timeoutSeconds);
    const agent = await createAgent(server, { type: 'openai', baseUrl: fake.baseUrl, model: 'm' });
    const { sessionId } = await sessionWith(server, agent.id);
    fake.behaviour = behaviour;
    const upstream = fake.nextRequest();
    const sending = server.request('POST', sessionPath(sessionId, '/messages'), { body: { content, transport: 'http' } });
    await upstream;
    return { server, sessionId, sending };
  }

  /** The event log numbered 1, 2, 3 … without a gap. */
  const assertGapless = (events: Array<{ seq: number }>) =>
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );

  test('back before the deadline: the reply is stored once, its chunks in order, and the waiting send gets it', async () => {
    const held = gate();
    const { server, sessionId, sending } = await sendingThroughProxy(
      30,
      { kind: 'gated', before: ['Hello'], release: held.release, after: [' there', '!'] },
      'hi',
    );
    await eventually(async () => (await eventsOf(server, sessionId)).some((e) => e.type === 'message.chunk'), 'the first chunk stored');

    proxy.cut();
    const refusedBefore = proxy.refused;
    held.open();
    // The reply and its last chunks meet the cut store, more than once (the retries).
    await eventually(() => proxy.refused >= refusedBefore + 3, 'the reply trying the store again', { ms: 10_000 });
    proxy.restore();

    const sent = await within(sending, 10_000, 'the send answering');
    assert.equal(sent.status, 201, sent.text);
    assert.equal(sent.body.agentError, undefined, JSON.stringify(sent.body.agentError));
    assert.equal(sent.body.agentResponse.text, 'Hello there!');
    const history = await historyOf(server, sessionId);
    assert.deepEqual(
      history.map((m) => [m.content, m.isAgent]),
      [
        ['hi', false],
        ['Hello there!', true],
      ],
    );
    const events = await eventsOf(server, sessionId);
    const chunks = events.filter((e) => e.type === 'message.chunk').map((e) => e.data as { index: number; chunk: string });
    assert.deepEqual(
      chunks.map((c) => [c.index, c.chunk]),
      [
        [0, 'Hello'],
        [1, ' there'],
        [2, '!'],
      ],
    );
    const created = events
      .filter((e) => e.type === 'message.created')
      .map((e) => (e.data as { message: { content: string } }).message.content);
    assert.deepEqual(created, ['hi', 'Hello there!']);
    assertGapless(events);
  });

  test('a blip while the reply streams: the chunks it missed are stored after it, in order, before the reply is done', async () => {
    const stages = [gate(), gate(), gate()];
    const { server, sessionId, sending } = await sendingThroughProxy(
      30,
      {
        kind: 'stages',
        stages: [
          { chunks: ['one'] },
          { release: stages[0]!.release, chunks: [' two'] },
          { release: stages[1]!.release, chunks: [' three'] },
          { release: stages[2]!.release, chunks: [] },
        ],
      },
      'count',
    );
    const chunksStored = async () =>
      (await eventsOf(server, sessionId)).filter((e) => e.type === 'message.chunk').map((e) => (e.data as { chunk: string }).chunk);
    await eventually(async () => (await chunksStored()).length === 1, 'the first chunk stored');

    proxy.cut();
    const refusedBefore = proxy.refused;
    stages[0]!.open();
    await eventually(() => proxy.refused > refusedBefore, 'the second chunk meeting the cut store', { ms: 10_000 });
    proxy.restore();
    stages[1]!.open();
    // The reply is still streaming: the missed chunk and the next one are stored, in order.
    await eventually(async () => (await chunksStored()).length === 3, 'the chunks after the blip stored', { ms: 10_000 });
    assert.deepEqual(await chunksStored(), ['one', ' two', ' three']);
    stages[2]!.open();

    const sent = await within(sending, 10_000, 'the send answering');
    assert.equal(sent.body.agentResponse.text, 'one two three');
    const events = await eventsOf(server, sessionId);
    assert.deepEqual(
      events.filter((e) => e.type === 'message.chunk').map((e) => (e.data as { index: number }).index),
      [0, 1, 2],
    );
    assertGapless(events);
  });

  test('still away at the deadline: the reply fails, nothing of it is stored, the session is free again', async () => {
    const held = gate();
    const { server, sessionId, sending } = await sendingThroughProxy(
      1,
      { kind: 'gated', before: [], release: held.release, after: ['Too late'] },
      'hi',
    );
    proxy.cut();
    held.open();
    const sent = await within(sending, 10_000, 'the send answering');
    assert.equal(sent.status, 201, sent.text);
    assert.equal(sent.body.agentResponse, undefined);
    assert.equal(sent.body.agentError.code, 'AGENT_FAILED');
    assert.ok(proxy.refused >= 2, `the store tried ${proxy.refused} time(s)`);
    proxy.restore();
    await server.app.replies.idle();
    const history = await historyOf(server, sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['hi'],
    );
    // Nothing is left under way: the next message is answered.
    fake.behaviour = { kind: 'stream', chunks: ['Back'] };
    const next = await server.request('POST', sessionPath(sessionId, '/messages'), {
      body: { content: 'again', transport: 'http' },
    });
    assert.equal(next.status, 201, next.text);
    assert.equal(next.body.agentResponse.text, 'Back');
  });
});

describe('an agent reply whose commit answer is lost', () => {
  let fake: FakeOpenAI;
  let server: TestServer;

  before(async () => {
    fake = await startFakeOpenAI();
    server = await startServer({ AGENT_TIMEOUT_SECONDS: '30' });
  });

  after(async () => {
    await server.close();
    await fake.close();
  });

  test('the reply committed, then the connection failed: the retry finds it stored and answers with it, stored once', async () => {
    const agent = await createAgent(server, { type: 'openai', baseUrl: fake.baseUrl, model: 'm' });
    const { sessionId } = await sessionWith(server, agent.id);
    fake.behaviour = { kind: 'stream', chunks: ['Hello', ' there'] };
    // The one fault here: the reply's transaction commits, then its caller hears of a lost
    // connection instead of the answer (what a connection cut right after COMMIT looks like).
    const store = server.app.store;
    const commit = store.transaction.bind(store);
    let lost = 0;
    store.transaction = async <T>(work: Parameters<typeof commit<T>>[0]): Promise<T> => {
      const result = await commit(work);
      const saved = (result as { reply?: { isAgent?: boolean } } | undefined)?.reply;
      if (lost === 0 && saved?.isAgent === true) {
        lost++;
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      }
      return result;
    };
    try {
      const sent = await server.request('POST', sessionPath(sessionId, '/messages'), {
        body: { content: 'hi', transport: 'http' },
      });
      assert.equal(sent.status, 201, sent.text);
      assert.equal(lost, 1);
      assert.equal(sent.body.agentError, undefined, JSON.stringify(sent.body.agentError));
      assert.equal(sent.body.agentResponse.text, 'Hello there');
      const history = await historyOf(server, sessionId);
      assert.deepEqual(
        history.map((m) => [m.content, m.isAgent]),
        [
          ['hi', false],
          ['Hello there', true],
        ],
      );
      assert.equal(history[1]!.id, sent.body.agentResponse.id);
    } finally {
      store.transaction = commit;
    }
  });
});
