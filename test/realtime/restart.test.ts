/**
 * Restarts in the middle of a session's life, in-process so the test owns the clock: the
 * second server opens the same SQLite file and its first scheduler tick emits what fell due
 * while no server was running.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, MINUTE } from '../support/clock.js';
import { ADMIN_KEY, createSession, startServer } from '../support/server.js';
import { openSse } from '../support/sse-client.js';

test('a restart inside the warning window still delivers the expiry, once, resumable', async () => {
  const clock = new ManualClock();
  const first = await startServer({}, clock);
  const s = await createSession(first, { timeoutConfig: { timeoutMinutes: 5, warningThresholdMinutes: 2 } });
  clock.advance(3.5 * 60_000);
  assert.deepEqual(
    (await first.app.scheduler.tick()).map((e) => e.type),
    ['session.warning'],
  );
  await first.close({ keepData: true });

  clock.advance(2 * MINUTE); // the expiry falls due while no server runs
  const second = await startServer({}, clock, first.storage);
  try {
    const health = await second.request('GET', '/api/messaging/sessions/health');
    assert.equal(health.body.invalidSessions, 1, 'expired, not processed yet');
    const emitted = await second.app.scheduler.tick();
    assert.deepEqual(
      emitted.map((e) => [e.type, e.seq]),
      [['session.expired', 3]],
    );
    assert.deepEqual(await second.app.scheduler.tick(), []);

    const events = await second.app.store.eventsAfter(s.sessionId, 0, 10);
    assert.deepEqual(
      events.map((e) => [e.seq, e.type]),
      [
        [1, 'session.created'],
        [2, 'session.warning'],
        [3, 'session.expired'],
      ],
    );
    const gone = await second.request('GET', `/api/messaging/sessions/${s.sessionId}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.error.expiresAt, new Date(Date.parse(s.createdAt) + 5 * MINUTE).toISOString());
  } finally {
    await second.close();
  }
});

test('a client resumes its event stream across a restart without gaps', async () => {
  const clock = new ManualClock();
  const first = await startServer({}, clock);
  const s = await createSession(first);
  const url = (base: string) => `${base}/api/messaging/sessions/${s.sessionId}/events`;
  const headers = { authorization: `Bearer ${ADMIN_KEY}` };
  const conn = await openSse(url(first.url), { headers });
  clock.advance(1000);
  await first.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  assert.deepEqual([(await conn.next()).id, (await conn.next()).id], ['1', '2'], 'session.created, then the renewal');
  await first.close({ keepData: true });
  await conn.ended;

  const second = await startServer({}, clock, first.storage);
  try {
    clock.advance(1000);
    await second.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
    clock.advance(1000);
    await second.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
    const resumed = await openSse(url(second.url), { headers: { ...headers, 'last-event-id': '2' } });
    assert.deepEqual([(await resumed.next()).id, (await resumed.next()).id], ['3', '4']);
    resumed.close();
  } finally {
    await second.close();
  }
});
