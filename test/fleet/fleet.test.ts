/**
 * The production fleet end to end (`npm run test:fleet`): `npm run fleet` with three instances
 * behind HAProxy, on a private PostgreSQL cluster and a private redis-server that these tests
 * stop and start (never the shared ones). HTTP, SSE and Socket.IO through the load balancer; a
 * rolling restart of every instance during sends and subscriptions; a PostgreSQL restart and a
 * Redis restart under load; two instances starting at once on an empty database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { freePortBlock } from '../support/ports.js';
import { haveRedisServer, PrivateRedis } from '../support/private-redis.js';
import { allEvents, BASE, call, ELIZA, history, KEY, RejoiningSocket, ResumingSse, sendReliably, USER } from './clients.js';
import { startFleet, type Fleet } from './fleet-process.js';
import { havePostgresBinaries, PrivatePostgres } from './private-postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const missing = !haveRedisServer()
  ? 'redis-server is not installed'
  : !havePostgresBinaries()
    ? 'PostgreSQL binaries are not installed'
    : false;

async function createSession(base: string): Promise<string> {
  const created = await call(base, 'POST', BASE, { agentId: ELIZA, userId: USER });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.sessionId;
}

/** A loop of reliable sends on one session until stopped; the acknowledged contents, in order. */
function sender(base: string, sessionId: string, label: string) {
  const acknowledged: string[] = [];
  let failures = 0;
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const content = `${label} message ${i}`;
      const sent = await sendReliably(base, sessionId, content);
      failures += sent.failures;
      acknowledged.push(content);
      await sleep(50);
    }
  })();
  return {
    acknowledged,
    get failures() {
      return failures;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Polls until the answer is 503 (the load balancer has noticed); every answer must come fast. */
async function until503(base: string, path: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await call(base, 'GET', path);
    assert.ok(answer.ms < 5000, `answered after ${answer.ms} ms`);
    if (answer.status === 503) return answer;
    assert.ok(Date.now() < deadline, `still ${answer.status} after 10 s`);
    await sleep(100);
  }
}

async function untilReady(base: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await call(base, 'GET', '/readyz')).status !== 200) {
    assert.ok(Date.now() < deadline, 'the fleet did not recover');
    await sleep(200);
  }
}

/** No event twice, none out of order: strictly increasing seq. */
function assertStrictlyIncreasing(events: Array<{ seq: number }>, what: string): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i]!.seq > events[i - 1]!.seq, `${what}: seq ${events[i]!.seq} after ${events[i - 1]!.seq}`);
  }
}

/** Every acknowledged message stored exactly once, each answered by the agent once. */
async function assertNothingLost(base: string, sessionId: string, acknowledged: string[]): Promise<void> {
  let messages = await history(base, sessionId);
  for (let i = 0; i < 100 && messages.filter((m) => m.isAgent).length < acknowledged.length; i++) {
    await sleep(100);
    messages = await history(base, sessionId);
  }
  const users = messages.filter((m) => !m.isAgent).map((m) => m.content);
  assert.deepEqual(users, acknowledged, 'every acknowledged message stored once, in order');
  assert.equal(messages.filter((m) => m.isAgent).length, acknowledged.length, 'one agent reply per message');
}

describe('a three-instance fleet behind HAProxy', { skip: missing }, () => {
  let postgres: PrivatePostgres;
  let redis: PrivateRedis;
  let fleet: Fleet;
  let env: Record<string, string>;

  before(async () => {
    postgres = await PrivatePostgres.start();
    redis = await PrivateRedis.start();
    const unlimited = '1000000';
    env = {
      DATABASE_URL: postgres.url(),
      REDIS_URL: redis.url,
      SESSIONS_API_KEY: KEY,
      RATE_LIMIT_SESSION_PER_MINUTE: unlimited,
      RATE_LIMIT_USER_PER_HOUR: unlimited,
      RATE_LIMIT_AGENT_PER_HOUR: unlimited,
      RATE_LIMIT_KEY_PER_MINUTE: unlimited,
    };
    fleet = await startFleet(env, 3, await freePortBlock(4));
  });

  after(async () => {
    await fleet?.stop();
    await redis?.stop();
    await postgres?.destroy();
  });

  test('HTTP, SSE and Socket.IO through the load balancer, spread over every instance', async () => {
    const sessionId = await createSession(fleet.url);
    const sse = new ResumingSse(`${fleet.url}${BASE}/${sessionId}/events`);
    const socket = new RejoiningSocket(fleet.url, sessionId);
    try {
      await socket.joined;
      while (sse.connections === 0) await sleep(20);
      const sent = await call(fleet.url, 'POST', `${BASE}/${sessionId}/messages`, {
        content: 'Hello through the load balancer',
        transport: 'http',
      });
      assert.equal(sent.status, 201);
      assert.equal(typeof sent.body.agentResponse.text, 'string');
      const stored = await allEvents(fleet.url, sessionId);
      const created = stored.filter((e) => e.type === 'message.created');
      assert.equal(created.length, 2, 'the user message and the reply');
      await sse.waitFor(stored.at(-1)!.seq);
      assert.deepEqual(sse.events, stored);
      for (let i = 0; i < 100 && socket.events.length < stored.length; i++) await sleep(50);
      assert.deepEqual(socket.events, stored);

      // leastconn spreads requests: every instance answered some of them.
      for (let i = 0; i < 30; i++) assert.equal((await call(fleet.url, 'GET', `${BASE}/${sessionId}`)).status, 200);
      for (const [name, { port }] of fleet.instances) {
        const metrics = await call(`http://127.0.0.1:${port}`, 'GET', '/metrics');
        const served =
          /^http_request_duration_seconds_count\{method="GET",route="\/api\/messaging\/sessions\/:sessionId",status="200"\} (\d+)$/m.exec(
            String(metrics.body),
          );
        assert.ok(served && Number(served[1]) > 0, `${name} served none of them`);
      }
    } finally {
      await sse.stop();
      socket.close();
    }
  });

  test('a rolling restart of every instance during sends and subscriptions loses and doubles nothing', async () => {
    const sessions = await Promise.all([1, 2, 3].map(() => createSession(fleet.url)));
    const streams = sessions.map((id) => new ResumingSse(`${fleet.url}${BASE}/${id}/events`));
    const sockets = sessions.map((id) => new RejoiningSocket(fleet.url, id));
    await Promise.all(sockets.map((s) => s.joined));
    const senders = sessions.map((id, i) => sender(fleet.url, id, `rolling ${i}`));
    try {
      try {
        await sleep(1000);
        const pidsBefore = [...fleet.instances.values()].map((i) => i.pid);
        const mark = fleet.output().length;
        fleet.child.kill('SIGHUP');
        await fleet.waitFor(/^fleet: rolling restart done$/m, 90_000, mark);
        const pidsAfter = [...fleet.instances.values()].map((i) => i.pid);
        for (const pid of pidsBefore) assert.ok(!pidsAfter.includes(pid), 'every instance was replaced');
        await sleep(1000);
      } finally {
        await Promise.allSettled(senders.map((s) => s.stop()));
      }
      await Promise.all(senders.map((s) => s.stop()));
      for (const [i, sessionId] of sessions.entries()) {
        assert.ok(senders[i]!.acknowledged.length >= 10, `only ${senders[i]!.acknowledged.length} sends`);
        await assertNothingLost(fleet.url, sessionId, senders[i]!.acknowledged);
        const stored = await allEvents(fleet.url, sessionId);
        assertStrictlyIncreasing(stored, 'stored events');
        assert.deepEqual(
          stored.map((e) => e.seq),
          stored.map((_, n) => n + 1),
          'no gap in the event log',
        );
        // The SSE client was moved at least once and resumed with Last-Event-ID: it has every event once.
        await streams[i]!.waitFor(stored.at(-1)!.seq);
        assert.ok(streams[i]!.connections >= 2, `SSE client connected ${streams[i]!.connections} time(s)`);
        assert.deepEqual(streams[i]!.events, stored);
        // The Socket.IO client reconnected and joined again with lastSeq: it has every event once.
        const socket = sockets[i]!;
        assert.ok(socket.connections >= 2, `socket connected ${socket.connections} time(s)`);
        for (let n = 0; n < 100 && socket.events.length < stored.length; n++) await sleep(50);
        assertStrictlyIncreasing(socket.events, 'Socket.IO events');
        assert.deepEqual(socket.events, stored, 'Socket.IO events: every stored event, once, in order');
        assert.ok(
          socket.connectionOf.some((c) => c >= 2),
          'events arrived after the socket reconnected',
        );
      }
    } finally {
      await Promise.all(streams.map((s) => s.stop()));
      sockets.forEach((s) => s.close());
    }
  });

  test('PostgreSQL restarted under load: 503 quickly while it is down, recovery by itself, nothing acknowledged lost', async () => {
    const sessionId = await createSession(fleet.url);
    const stream = new ResumingSse(`${fleet.url}${BASE}/${sessionId}/events`);
    const load = sender(fleet.url, sessionId, 'pg');
    try {
      try {
        await sleep(1000);
        postgres.stopServer();
        // Through the load balancer: the error envelope, 503, quickly.
        const during = await until503(fleet.url, `${BASE}/${sessionId}`);
        assert.equal(during.body.error.code, 'SERVICE_UNAVAILABLE');
        // An instance asked directly: unhealthy, not ready, and a request fails fast with 503.
        const { port } = fleet.instances.get('app1')!;
        const direct = `http://127.0.0.1:${port}`;
        const health = await call(direct, 'GET', `${BASE}/health`);
        assert.equal(health.status, 503);
        assert.equal(health.body.status, 'unhealthy');
        assert.equal((await call(direct, 'GET', '/readyz')).status, 503);
        const failed = await call(direct, 'GET', `${BASE}/${sessionId}`);
        assert.equal(failed.status, 503, JSON.stringify(failed.body));
        assert.equal(failed.body.error.code, 'SERVICE_UNAVAILABLE');
        assert.ok(failed.ms < 5000, `answered after ${failed.ms} ms`);
        await sleep(1500);
        await postgres.startServer();
        await untilReady(fleet.url);
        const countBefore = load.acknowledged.length;
        while (load.acknowledged.length < countBefore + 5) await sleep(100);
      } finally {
        await Promise.allSettled([load.stop()]);
      }
      await load.stop();
      assert.ok(load.failures > 0, 'some sends were refused while PostgreSQL was down');
      await assertNothingLost(fleet.url, sessionId, load.acknowledged);
      const stored = await allEvents(fleet.url, sessionId);
      await stream.waitFor(stored.at(-1)!.seq);
      assert.deepEqual(stream.events, stored);
    } finally {
      await stream.stop();
    }
  });

  test('Redis restarted under load: 503 while it is down, events stored meanwhile reach SSE and Socket.IO after', async () => {
    const sessionId = await createSession(fleet.url);
    const stream = new ResumingSse(`${fleet.url}${BASE}/${sessionId}/events`);
    const socket = new RejoiningSocket(fleet.url, sessionId);
    try {
      await socket.joined;
      while (stream.connections === 0) await sleep(20);
      await sendReliably(fleet.url, sessionId, 'before the outage');
      await redis.stop();
      try {
        // Every instance needs Redis to be ready: the load balancer answers the envelope, 503.
        const during = await until503(fleet.url, `${BASE}/${sessionId}`);
        assert.equal(during.body.error.code, 'SERVICE_UNAVAILABLE');
        // An instance asked directly still stores a message (rate limits fall back to its own counters).
        const { port } = fleet.instances.get('app2')!;
        const stored = await call(`http://127.0.0.1:${port}`, 'POST', `${BASE}/${sessionId}/messages`, {
          content: 'during the outage',
          transport: 'http',
        });
        assert.equal(stored.status, 201, JSON.stringify(stored.body));
        assert.equal((await call(`http://127.0.0.1:${port}`, 'GET', `${BASE}/health`)).status, 503);
      } finally {
        await redis.start();
      }
      await untilReady(fleet.url);
      const events = await allEvents(fleet.url, sessionId);
      const messages = await history(fleet.url, sessionId);
      assert.deepEqual(
        messages.filter((m) => !m.isAgent).map((m) => m.content),
        ['before the outage', 'during the outage'],
      );
      // The events of the message sent during the outage arrive without any later event to announce them.
      await stream.waitFor(events.at(-1)!.seq);
      assert.deepEqual(stream.events, events);
      for (let i = 0; i < 200 && socket.events.length < events.length; i++) await sleep(50);
      assert.deepEqual(socket.events, events);
    } finally {
      await stream.stop();
      socket.close();
    }
  });

  test('two instances starting at once on an empty database: migrated once, both ready', async () => {
    const admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE fresh_start');
    await admin.end();
    const pair = await startFleet({ ...env, DATABASE_URL: postgres.url('fresh_start') }, 2, await freePortBlock(3));
    try {
      const db = new pg.Client({ connectionString: postgres.url('fresh_start') });
      await db.connect();
      try {
        const migrations = await db.query('SELECT name FROM kysely_migration ORDER BY name');
        const every = Object.keys(await migrationProvider.getMigrations()).sort();
        assert.deepEqual(
          migrations.rows.map((r) => r.name),
          every,
        );
        const agents = await db.query('SELECT count(*)::int AS n FROM agents');
        assert.equal(agents.rows[0].n, 1, 'the built-in agent seeded once');
      } finally {
        await db.end();
      }
      for (const { port } of pair.instances.values()) assert.equal((await call(`http://127.0.0.1:${port}`, 'GET', '/readyz')).status, 200);
      assert.equal((await call(pair.url, 'GET', `${BASE}/health`)).status, 200);
    } finally {
      assert.equal(await pair.stop(), 0);
    }
  });
});
