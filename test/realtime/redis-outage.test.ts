/**
 * Redis stops and comes back (a private redis-server, never the shared one): health and
 * readiness answer 503 SERVICE_UNAVAILABLE meanwhile, and events stored while it was away reach the
 * open SSE stream and Socket.IO room once it is back, read from the store: none lost, none twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { io as connect } from 'socket.io-client';
import { ADMIN_KEY, createSession, startServer } from '../support/server.js';
import { ManualClock, MINUTE } from '../support/clock.js';
import { openSse } from '../support/sse-client.js';
import { haveRedisServer, PrivateRedis } from '../support/private-redis.js';
import { eventually } from '../support/wait.js';

const skip = haveRedisServer() ? false : 'redis-server is not installed';

test('events stored during a Redis outage reach SSE and Socket.IO subscribers after it returns', { skip }, async () => {
  const redis = await PrivateRedis.start();
  const clock = new ManualClock();
  // SQLite store, Redis fan-out and rate limits: the outage touches Redis only.
  const server = await startServer({ REDIS_URL: redis.url }, clock);
  const socket = connect(server.url, { path: '/socket.io', auth: { token: ADMIN_KEY }, transports: ['websocket'], reconnection: false });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  try {
    const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 10, warningThresholdMinutes: 2 } });
    const sse = await openSse(`${server.url}/api/messaging/sessions/${s.sessionId}/events`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    await connected;
    const created = await sse.next(5000);
    assert.deepEqual([created.event, created.id], ['session.created', '1'], 'the stream starts from the first event');
    const seen: Array<[string, number]> = [];
    socket.onAny((name, payload) => seen.push([name, payload.seq]));
    assert.deepEqual(await new Promise((resolve) => socket.emit('join', { sessionId: s.sessionId }, resolve)), { ok: true });

    await redis.stop();
    // Health needs Redis: 503 unhealthy, quickly. Reads do not (rate limits fall back to this
    // instance's own counters).
    const started = Date.now();
    const health = await server.request('GET', '/api/messaging/sessions/health');
    assert.equal(health.status, 503, health.text);
    assert.equal(health.body.status, 'unhealthy');
    assert.equal(health.body.error.code, 'SERVICE_UNAVAILABLE');
    assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
    assert.equal((await server.request('GET', `/api/messaging/sessions/${s.sessionId}`)).status, 200);
    const ready = await server.request('GET', '/readyz', { token: null });
    assert.equal(ready.status, 503);
    assert.equal(ready.body.error.details, 'Redis is unreachable');

    // The scheduler stores the warning while Redis is away; its announcement is lost.
    clock.advance(8.5 * MINUTE);
    assert.deepEqual(
      (await server.app.scheduler.tick()).map((e) => [e.type, e.seq]),
      [['session.warning', 2]],
    );

    await redis.start();
    const frame = await sse.next(15_000);
    assert.deepEqual([frame.event, frame.id], ['session.warning', '2']);
    await eventually(() => seen.length > 0, 'the warning on the socket', { ms: 10_000 });
    assert.deepEqual(seen, [['session.warning', 2]]);

    // Back to normal: the next event arrives live, once, everywhere.
    await eventually(async () => (await server.request('GET', '/readyz', { token: null })).status === 200, 'ready again');
    const renewed = await server.request('POST', `/api/messaging/sessions/${s.sessionId}/renew`);
    assert.equal(renewed.status, 200, renewed.text);
    const next = await sse.next(5000);
    assert.deepEqual([next.event, next.id], ['session.renewed', '3']);
    await eventually(() => seen.length >= 2, 'the renewal on the socket');
    assert.deepEqual(seen, [
      ['session.warning', 2],
      ['session.renewed', 3],
    ]);
    sse.close();
  } finally {
    socket.close();
    await server.close();
    await redis.stop();
  }
});
