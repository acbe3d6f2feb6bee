/**
 * Rate limits (SPEC §7), each at its exact boundary, with the headers of every answer.
 *
 * rate-limiter-flexible counts in real time and cannot take the test clock, so: boundaries
 * are tested with the real windows (a minute, an hour: nothing here waits for them), and the
 * window reset with a one-second window handed to createApp (`rateLimitWindows`, test only).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Redis as RedisClient } from 'ioredis';
import { call, createKey, type CallResult } from '../support/auth.js';
import { ManualClock } from '../support/clock.js';
import { ADMIN_KEY, ELIZA, USER, startServer, type TestServer } from '../support/server.js';

const S = '/api/messaging/sessions';
const USER_B = '22222222-2222-4222-8222-222222222222';

function assertHeaders(res: CallResult, limit: number, remaining: number, windowSeconds: number): void {
  assert.equal(res.headers.get('ratelimit-limit'), String(limit), res.text);
  assert.equal(res.headers.get('ratelimit-remaining'), String(remaining), res.text);
  const reset = Number(res.headers.get('ratelimit-reset'));
  assert.ok(reset >= windowSeconds - 2 && reset <= windowSeconds, `RateLimit-Reset ${reset} for a ${windowSeconds} s window`);
}

function assertLimited(res: CallResult, limit: number, windowSeconds: number): void {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.body.success, false);
  assert.equal(res.body.error.code, 'RATE_LIMITED');
  assertHeaders(res, limit, 0, windowSeconds);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(retryAfter >= windowSeconds - 2 && retryAfter <= windowSeconds, `Retry-After ${retryAfter}`);
  assert.equal(res.body.error.retryAfter, retryAfter);
}

async function newSession(server: TestServer, body: Record<string, unknown> = {}): Promise<{ sessionId: string; token: string }> {
  const res = await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: ELIZA, userId: USER, ...body } });
  assert.equal(res.status, 201, res.text);
  return { sessionId: res.body.sessionId, token: res.body.sessionToken };
}

describe('per session: RATE_LIMIT_SESSION_PER_MINUTE=3', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ RATE_LIMIT_SESSION_PER_MINUTE: '3' });
  });
  after(() => server.close());

  test('requests 1–3 pass with the remaining count, the 4th is 429 with Retry-After', async () => {
    const { sessionId } = await newSession(server);
    for (let i = 1; i <= 3; i++) {
      const res = await call(server, 'GET', `${S}/${sessionId}`, { token: ADMIN_KEY });
      assert.equal(res.status, 200, `request ${i}`);
      assertHeaders(res, 3, 3 - i, 60);
    }
    assertLimited(await call(server, 'GET', `${S}/${sessionId}`, { token: ADMIN_KEY }), 3, 60);
    // Whatever the route: every route under the session counts.
    assertLimited(await call(server, 'POST', `${S}/${sessionId}/heartbeat`, { token: ADMIN_KEY }), 3, 60);
    assertLimited(await call(server, 'GET', `${S}/${sessionId}/messages`, { token: ADMIN_KEY }), 3, 60);
  });

  test('a session token is limited the same way, and one session does not throttle another', async () => {
    const a = await newSession(server);
    const b = await newSession(server);
    for (let i = 0; i < 3; i++) assert.equal((await call(server, 'POST', `${S}/${a.sessionId}/heartbeat`, { token: a.token })).status, 200);
    assertLimited(await call(server, 'POST', `${S}/${a.sessionId}/heartbeat`, { token: a.token }), 3, 60);
    const other = await call(server, 'POST', `${S}/${b.sessionId}/heartbeat`, { token: b.token });
    assert.equal(other.status, 200);
    assertHeaders(other, 3, 2, 60);
  });

  test('a 429 changes nothing: no message, no activity, no renewal, no event', async () => {
    const { sessionId, token } = await newSession(server);
    for (let i = 0; i < 3; i++) {
      const sent = await call(server, 'POST', `${S}/${sessionId}/messages`, { token, body: { content: `m${i}`, transport: 'http' } });
      assert.equal(sent.status, 201);
    }
    const before = await server.app.store.getSession(sessionId);
    const messages = (await server.app.store.recentMessages(sessionId, 100)).length;
    const events = (await server.app.store.eventsAfter(sessionId, 0, 1000)).length;
    server.clock.advance(60_000);

    const refused = await call(server, 'POST', `${S}/${sessionId}/messages`, {
      token,
      body: { content: 'one too many', transport: 'http' },
      headers: { 'idempotency-key': 'k-429' },
    });
    assertLimited(refused, 3, 60);
    assertLimited(await call(server, 'POST', `${S}/${sessionId}/renew`, { token }), 3, 60);
    assertLimited(await call(server, 'PATCH', `${S}/${sessionId}/timeout`, { token: ADMIN_KEY, body: { timeoutMinutes: 60 } }), 3, 60);
    assertLimited(await call(server, 'DELETE', `${S}/${sessionId}`, { token }), 3, 60);

    assert.deepEqual(await server.app.store.getSession(sessionId), before);
    assert.equal((await server.app.store.recentMessages(sessionId, 100)).length, messages);
    assert.equal(messages, 6, 'three user messages and three replies');
    assert.equal((await server.app.store.eventsAfter(sessionId, 0, 1000)).length, events);
    assert.equal(await server.app.store.getIdempotencyRecord(sessionId, 'k-429'), undefined);
  });

  test('an unknown session is not counted (404 as always), nor are routes off sessions', async () => {
    const missing = '99999999-9999-4999-8999-999999999999';
    for (let i = 0; i < 5; i++) assert.equal((await call(server, 'GET', `${S}/${missing}`, { token: ADMIN_KEY })).status, 404);
    for (let i = 0; i < 5; i++) assert.equal((await call(server, 'GET', S, { token: ADMIN_KEY })).status, 200);
  });

  test('refused credentials do not spend a session budget', async () => {
    const target = await newSession(server);
    const other = await newSession(server);
    for (let i = 0; i < 5; i++) assert.equal((await call(server, 'GET', `${S}/${target.sessionId}`, { token: other.token })).status, 403);
    for (let i = 0; i < 5; i++) assert.equal((await call(server, 'GET', `${S}/${target.sessionId}`)).status, 401);
    const res = await call(server, 'GET', `${S}/${target.sessionId}`, { token: target.token });
    assert.equal(res.status, 200);
    assertHeaders(res, 3, 2, 60);
  });
});

describe('per user: RATE_LIMIT_USER_PER_HOUR=5', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ RATE_LIMIT_USER_PER_HOUR: '5', RATE_LIMIT_SESSION_PER_MINUTE: '2' });
  });
  after(() => server.close());

  test('create and every request on any of the user’s sessions count; the 6th is 429; other users go on', async () => {
    const created1 = await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: ELIZA, userId: USER } });
    assert.equal(created1.status, 201);
    assertHeaders(created1, 5, 4, 3600); // the user window is the tightest after create
    const s1 = created1.body.sessionId;
    // The session window (2/min) is the tightest here: 1 left after one request.
    const get1 = await call(server, 'GET', `${S}/${s1}`, { token: ADMIN_KEY }); // user: 2
    assert.equal(get1.status, 200);
    assertHeaders(get1, 2, 1, 60);
    const get2 = await call(server, 'GET', `${S}/${s1}`, { token: ADMIN_KEY }); // user: 3; session 1: 0 left
    assertHeaders(get2, 2, 0, 60);
    // Refused by the session window, still counted for the user (SPEC §7: rejected requests count).
    assertLimited(await call(server, 'GET', `${S}/${s1}`, { token: ADMIN_KEY }), 2, 60); // user: 4

    const created2 = await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: ELIZA, userId: USER } }); // user: 5
    assert.equal(created2.status, 201);
    assertHeaders(created2, 5, 0, 3600);
    const s2 = created2.body.sessionId;
    assertLimited(await call(server, 'GET', `${S}/${s2}`, { token: ADMIN_KEY }), 5, 3600); // user: 6
    const refusedCreate = await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: ELIZA, userId: USER } });
    assertLimited(refusedCreate, 5, 3600);
    const list = await call(server, 'GET', `${S}?userId=${USER}&status=all`, { token: ADMIN_KEY });
    assert.equal(list.body.total, 2, 'the refused create made no session');

    const other = await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: ELIZA, userId: USER_B } });
    assert.equal(other.status, 201);
    assertHeaders(other, 5, 4, 3600);
  });
});

describe('per agent: RATE_LIMIT_AGENT_PER_HOUR=4', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ RATE_LIMIT_AGENT_PER_HOUR: '4' });
  });
  after(() => server.close());

  test('sessions of different users share their agent’s budget; other agents go on', async () => {
    const agent = await call(server, 'POST', '/api/agents', { token: ADMIN_KEY, body: { name: 'Busy', provider: { type: 'eliza' } } });
    assert.equal(agent.status, 201);
    const agentId = agent.body.id;
    const a = await newSession(server, { agentId, userId: USER }); // agent: 1
    const b = await newSession(server, { agentId, userId: USER_B }); // agent: 2
    assert.equal((await call(server, 'GET', `${S}/${a.sessionId}`, { token: a.token })).status, 200); // 3
    const last = await call(server, 'GET', `${S}/${b.sessionId}`, { token: b.token }); // 4
    assert.equal(last.status, 200);
    assertHeaders(last, 4, 0, 3600);
    assertLimited(await call(server, 'GET', `${S}/${a.sessionId}`, { token: a.token }), 4, 3600);
    assertLimited(await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId, userId: USER } }), 4, 3600);
    assert.equal((await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: ELIZA, userId: USER } })).status, 201);
  });
});

describe('per API key: RATE_LIMIT_KEY_PER_MINUTE=3', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ RATE_LIMIT_KEY_PER_MINUTE: '3' });
  });
  after(() => server.close());

  test('every request a key authenticates counts, refused ones too; keys and tokens are apart', async () => {
    const { key } = await createKey(server, ['sessions:read']); // the admin key: 1
    const first = await call(server, 'GET', S, { token: key });
    assert.equal(first.status, 200);
    assertHeaders(first, 3, 2, 60);
    // Forbidden, but authenticated: it counts for the key.
    const forbidden = await call(server, 'GET', '/api/keys', { token: key });
    assert.equal(forbidden.status, 403);
    assertHeaders(forbidden, 3, 1, 60);
    assert.equal((await call(server, 'GET', '/api/agents', { token: key })).status, 200);
    assertLimited(await call(server, 'GET', S, { token: key }), 3, 60);
    assertLimited(await call(server, 'GET', S, { token: key, place: 'x-api-key' }), 3, 60);

    // The admin key has its own window; a session token is no key.
    const created = await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: ELIZA, userId: USER } }); // admin: 2
    assert.equal(created.status, 201);
    for (let i = 0; i < 5; i++) {
      assert.equal((await call(server, 'GET', `${S}/${created.body.sessionId}`, { token: created.body.sessionToken })).status, 200);
    }
  });
});

describe('the window starts over', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ RATE_LIMIT_SESSION_PER_MINUTE: '2' }, new ManualClock(), undefined, { rateLimitWindows: { session: 1 } });
  });
  after(() => server.close());

  test('after Retry-After seconds the same session passes again with a full window', async () => {
    const { sessionId, token } = await newSession(server);
    assert.equal((await call(server, 'GET', `${S}/${sessionId}`, { token })).status, 200);
    assert.equal((await call(server, 'GET', `${S}/${sessionId}`, { token })).status, 200);
    const refused = await call(server, 'GET', `${S}/${sessionId}`, { token });
    assertLimited(refused, 2, 1);
    await sleep(Number(refused.headers.get('retry-after')) * 1000 + 50);
    const again = await call(server, 'GET', `${S}/${sessionId}`, { token });
    assert.equal(again.status, 200);
    assertHeaders(again, 2, 1, 1);
  });
});

describe('counters in Redis are shared by instances', { skip: process.env.TEST_REDIS === '0' ? 'Redis not reachable' : undefined }, () => {
  let redis: RedisClient;
  let one: TestServer;
  let two: TestServer;
  before(async () => {
    const { Redis } = await import('ioredis');
    const { redisLimiters } = await import('../../src/http/rate-limit.js');
    redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const limiterFactory = redisLimiters(redis, `agent-sessions-test:${process.pid}:${Date.now()}`);
    one = await startServer({ RATE_LIMIT_KEY_PER_MINUTE: '3' }, new ManualClock(), undefined, { limiterFactory });
    two = await startServer({ RATE_LIMIT_KEY_PER_MINUTE: '3' }, new ManualClock(), undefined, { limiterFactory });
  });
  after(async () => {
    await one?.close();
    await two?.close();
    redis?.disconnect();
  });

  test('the same key is limited across two instances', async () => {
    assertHeaders(await call(one, 'GET', S, { token: ADMIN_KEY }), 3, 2, 60);
    assertHeaders(await call(two, 'GET', S, { token: ADMIN_KEY }), 3, 1, 60);
    assertHeaders(await call(one, 'GET', S, { token: ADMIN_KEY }), 3, 0, 60);
    assertLimited(await call(two, 'GET', S, { token: ADMIN_KEY }), 3, 60);
  });
});
