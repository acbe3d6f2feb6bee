import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueLifecycleEvents, rearmsWarning } from '../../src/domain/schedule.js';
import { createSession, MINUTE_MS } from '../../src/domain/session.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const session = createSession(
  {
    id: 's',
    channelId: 'c',
    agentId: 'a',
    userId: 'u',
    metadata: {},
    config: { timeoutMinutes: 10, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 3 },
  },
  T0,
);
const fresh = { warned: false, expiryEmitted: false };

test('nothing is due before the warning window opens', () => {
  assert.deepEqual(dueLifecycleEvents(session, fresh, T0 + 7 * MINUTE_MS - 1), []);
});

test('the warning is due exactly when the window opens, and only once', () => {
  assert.deepEqual(dueLifecycleEvents(session, fresh, T0 + 7 * MINUTE_MS), ['session.warning']);
  assert.deepEqual(dueLifecycleEvents(session, { ...fresh, warned: true }, T0 + 10 * MINUTE_MS - 1), []);
});

test('the expiry is due exactly at expiresAt, and only once', () => {
  const warned = { warned: true, expiryEmitted: false };
  assert.deepEqual(dueLifecycleEvents(session, warned, T0 + 10 * MINUTE_MS), ['session.expired']);
  assert.deepEqual(dueLifecycleEvents(session, { warned: true, expiryEmitted: true }, T0 + 99 * MINUTE_MS), []);
});

test('after downtime through both moments: warning first, then expiry', () => {
  assert.deepEqual(dueLifecycleEvents(session, fresh, T0 + 60 * MINUTE_MS), ['session.warning', 'session.expired']);
});

test('a change re-arms the warning only if it leaves the window', () => {
  const moved = { ...session, expiresAt: T0 + 20 * MINUTE_MS };
  assert.equal(rearmsWarning(moved, T0 + 17 * MINUTE_MS - 1), true);
  assert.equal(rearmsWarning(moved, T0 + 17 * MINUTE_MS), false);
});
