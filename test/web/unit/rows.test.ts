/** A session list row under live events, and what it shows as time passes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SessionEvent, SessionInfo } from '../../../web/src/api/types.js';
import { applyEvent, rowOf, rowState, timeLeft } from '../../../web/src/sessions/rows.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ID = '22222222-2222-4222-8222-222222222222';

const info = (over: Partial<SessionInfo> = {}): SessionInfo => ({
  sessionId: ID,
  channelId: ID,
  agentId: '00000000-0000-4000-8000-000000000001',
  userId: '11111111-1111-4111-8111-111111111111',
  status: 'active',
  createdAt: iso(T0),
  lastActivity: iso(T0),
  expiresAt: iso(T0 + 30 * MINUTE),
  timeoutConfig: { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 },
  renewalCount: 0,
  timeRemaining: 30 * MINUTE,
  isNearExpiration: false,
  metadata: {},
  replyPolicy: 'enqueue',
  ...over,
});
const event = (type: SessionEvent['type'], at: number, data: unknown, seq = 2): SessionEvent => ({
  type,
  sessionId: ID,
  seq,
  at: iso(at),
  data,
});

describe('session rows', () => {
  test('time left and state follow the server clock: active, expiring, expired', () => {
    const row = rowOf(info(), T0);
    assert.equal(timeLeft(row, T0), 30 * MINUTE);
    assert.equal(rowState(row, T0), 'active');
    assert.equal(rowState(row, T0 + 25 * MINUTE - 1), 'active');
    assert.equal(rowState(row, T0 + 25 * MINUTE), 'expiring');
    assert.equal(rowState(row, T0 + 30 * MINUTE), 'expired');
    assert.equal(timeLeft(row, T0 + 31 * MINUTE), 0);
    assert.equal(rowState(rowOf(info({ status: 'expired' }), T0), T0), 'expired');
  });

  test('a renewal moves expiresAt and the count; an older (replayed) one changes nothing', () => {
    const row = rowOf(info(), T0 + MINUTE);
    const renewed = applyEvent(
      row,
      event(
        'session.renewed',
        T0 + 2 * MINUTE,
        info({ expiresAt: iso(T0 + 32 * MINUTE), renewalCount: 1, lastActivity: iso(T0 + 2 * MINUTE) }),
      ),
    );
    assert.equal(renewed.info.renewalCount, 1);
    assert.equal(renewed.info.expiresAt, iso(T0 + 32 * MINUTE));
    assert.equal(renewed.infoAt, T0 + 2 * MINUTE);
    const stale = applyEvent(renewed, event('session.renewed', T0 + 30_000, info({ renewalCount: 0 })));
    assert.equal(stale, renewed);
  });

  test('ended marks the row; nothing changes it afterwards', () => {
    const ended = applyEvent(rowOf(info(), T0), event('session.ended', T0 + MINUTE, info()));
    assert.equal(ended.ended, true);
    assert.equal(rowState(ended, T0 + MINUTE), 'ended');
    assert.equal(applyEvent(ended, event('session.renewed', T0 + 2 * MINUTE, info({ renewalCount: 3 }))), ended);
  });

  test('a user message is activity; an agent reply is not', () => {
    const row = rowOf(info(), T0);
    const user = applyEvent(row, event('message.created', T0 + MINUTE, { message: { isAgent: false, createdAt: iso(T0 + MINUTE) } }));
    assert.equal(user.info.lastActivity, iso(T0 + MINUTE));
    const agent = applyEvent(
      user,
      event('message.created', T0 + 2 * MINUTE, { message: { isAgent: true, createdAt: iso(T0 + 2 * MINUTE) } }),
    );
    assert.equal(agent, user);
  });

  test('events of another session, or without SessionInfo, change nothing', () => {
    const row = rowOf(info(), T0);
    assert.equal(applyEvent(row, { ...event('session.renewed', T0 + MINUTE, info({ renewalCount: 9 })), sessionId: 'other' }), row);
    assert.equal(applyEvent(row, event('session.renewed', T0 + MINUTE, null)), row);
    assert.equal(applyEvent(row, event('message.chunk', T0 + MINUTE, { chunk: 'x' })), row);
  });
});
