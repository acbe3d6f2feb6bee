/**
 * The lifecycle scheduler against a real SQLite store, time driven by a ManualClock:
 * `scheduler.tick()` is what the background loop calls.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { createSession, startServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(() => server.close());

const typesOf = async (sessionId: string) => (await server.app.store.eventsAfter(sessionId, 0, 100)).map((e) => `${e.seq}:${e.type}`);
const tick = async () => (await server.app.scheduler.tick()).map((e) => e.type);

test('warning at expiresAt - threshold, expiry at expiresAt, each once', async () => {
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 10, warningThresholdMinutes: 3 } });
  server.clock.advance(7 * MINUTE - 1);
  assert.deepEqual(await tick(), []);
  server.clock.advance(1);
  assert.deepEqual(await tick(), ['session.warning']);
  assert.deepEqual(await tick(), [], 'no second warning');
  server.clock.advance(3 * MINUTE - 1);
  assert.deepEqual(await tick(), []);
  server.clock.advance(1);
  assert.deepEqual(await tick(), ['session.expired']);
  assert.deepEqual(await tick(), [], 'no second expiry');
  assert.deepEqual(await typesOf(s.sessionId), ['1:session.created', '2:session.warning', '3:session.expired']);

  const [created, warning, expired] = await server.app.store.eventsAfter(s.sessionId, 0, 10);
  const { sessionToken: _token, ...info } = s;
  assert.deepEqual(created!.data, info, 'session.created carries the SessionInfo create answered');
  assert.equal(created!.at, s.createdAt);
  assert.equal((warning!.data as { isNearExpiration: boolean }).isNearExpiration, true);
  assert.equal((warning!.data as { timeRemaining: number }).timeRemaining, 3 * MINUTE);
  assert.equal((expired!.data as { status: string }).status, 'expired');
  assert.equal(expired!.at, new Date(server.clock.now()).toISOString());
});

test('a renewal that leaves the warning window re-arms the warning', async () => {
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 10, warningThresholdMinutes: 3 } });
  server.clock.advance(8 * MINUTE);
  assert.deepEqual(await tick(), ['session.warning']);
  const hb = await server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  assert.equal(hb.status, 200);
  assert.equal(hb.body.isNearExpiration, false);
  assert.deepEqual(await tick(), []);
  server.clock.advance(7 * MINUTE);
  assert.deepEqual(await tick(), ['session.warning'], 'warned again for the new window');
  assert.deepEqual(await typesOf(s.sessionId), ['1:session.created', '2:session.warning', '3:session.renewed', '4:session.warning']);
});

test('a renewal that stays inside the window (at the cap) does not warn twice', async () => {
  const s = await createSession(server, {
    timeoutConfig: { timeoutMinutes: 10, maxDurationMinutes: 12, warningThresholdMinutes: 5 },
  });
  server.clock.advance(8 * MINUTE); // expiresAt = 10 min, window opened at 5 min
  assert.deepEqual(await tick(), ['session.warning']);
  const hb = await server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  assert.equal(hb.body.expiresAt, new Date(Date.parse(s.createdAt) + 12 * MINUTE).toISOString());
  assert.equal(hb.body.isNearExpiration, true);
  assert.deepEqual(await tick(), []);
  server.clock.advance(4 * MINUTE);
  assert.deepEqual(await tick(), ['session.expired']);
  assert.deepEqual(await typesOf(s.sessionId), ['1:session.created', '2:session.warning', '3:session.renewed', '4:session.expired']);
});

test('no event for a deleted session', async () => {
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
  const del = await server.request('DELETE', `/api/messaging/sessions/${s.sessionId}`);
  assert.equal(del.status, 200);
  server.clock.advance(10 * MINUTE);
  assert.deepEqual(await tick(), []);
});

test('catch-up after downtime: warning then expiry, in that order, once', async () => {
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
  server.clock.advance(60 * MINUTE);
  assert.deepEqual(await tick(), ['session.warning', 'session.expired']);
  assert.deepEqual(await tick(), []);
  assert.deepEqual(await typesOf(s.sessionId), ['1:session.created', '2:session.warning', '3:session.expired']);
});

test('concurrent ticks emit each event once', async () => {
  const sessions = await Promise.all([1, 2, 3].map(() => createSession(server, { timeoutConfig: { timeoutMinutes: 5 } })));
  server.clock.advance(5 * MINUTE);
  const results = await Promise.all([tick(), tick(), server.app.scheduler.tick()]);
  for (const s of sessions) {
    assert.deepEqual(await typesOf(s.sessionId), ['1:session.created', '2:session.warning', '3:session.expired']);
  }
  assert.equal(results[0].length, 6);
});

test('health: expiringSoon counts sessions inside their window, invalidSessions the backlog', async () => {
  await createSession(server, { timeoutConfig: { timeoutMinutes: 10, warningThresholdMinutes: 2 } });
  await createSession(server, { timeoutConfig: { timeoutMinutes: 30, warningThresholdMinutes: 2 } });
  server.clock.advance(8 * MINUTE);
  let health = await server.request('GET', '/api/messaging/sessions/health');
  assert.equal(health.body.activeSessions, 2);
  assert.equal(health.body.expiringSoon, 1);
  assert.equal(health.body.invalidSessions, 0);
  server.clock.advance(2 * MINUTE);
  health = await server.request('GET', '/api/messaging/sessions/health');
  assert.equal(health.body.activeSessions, 1);
  assert.equal(health.body.expiringSoon, 0);
  assert.equal(health.body.invalidSessions, 1, 'expired, not yet processed');
  await tick();
  health = await server.request('GET', '/api/messaging/sessions/health');
  assert.equal(health.body.invalidSessions, 0);
});

test('expired sessions are purged with messages and events after the retention period', async () => {
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, { body: { content: 'hello', transport: 'http' } });
  server.clock.advance(5 * MINUTE);
  await tick();
  assert.equal((await typesOf(s.sessionId)).length > 0, true);
  server.clock.advance(24 * 60 * MINUTE);
  assert.equal(await server.app.maintenance.runOnce(), 1);
  assert.deepEqual(await typesOf(s.sessionId), []);
  assert.equal((await server.app.store.recentMessages(s.sessionId, 10)).length, 0);
  assert.equal((await server.request('GET', `/api/messaging/sessions/${s.sessionId}`)).status, 404);
});
