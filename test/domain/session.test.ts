/**
 * SPEC §3 lifecycle rules, one pure function at a time. Time is a plain number handed in; no
 * clock, no sleeps.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MINUTE_MS,
  applyTimeoutPatch,
  assertActive,
  computeExpiresAt,
  createSession,
  isExpired,
  isNearExpiration,
  isPastRetention,
  nextMessageTime,
  recordActivity,
  renewManually,
  resolveTimeoutConfig,
  timeRemaining,
  toSessionInfo,
  toSessionStatus,
  warningStartsAt,
  type Session,
  type TimeoutConfig,
} from '../../src/domain/session.js';
import { catchAppError } from '../support/app-error.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const MIN = MINUTE_MS;

const DEFAULTS: TimeoutConfig = {
  timeoutMinutes: 30,
  autoRenew: true,
  maxDurationMinutes: 720,
  warningThresholdMinutes: 5,
};

const IDS = {
  id: '6f1c3c1e-3b7a-4b8e-9f53-0a4d5d6b7c01',
  channelId: '6f1c3c1e-3b7a-4b8e-9f53-0a4d5d6b7c02',
  agentId: '00000000-0000-4000-8000-000000000001',
  userId: '11111111-1111-4111-8111-111111111111',
};

function newSession(config: Partial<TimeoutConfig> = {}, now = T0): Session {
  return createSession({ ...IDS, metadata: { plan: 'pro' }, config: { ...DEFAULTS, ...config } }, now);
}

describe('MINUTE_MS', () => {
  test('is sixty thousand milliseconds', () => {
    assert.equal(MINUTE_MS, 60_000);
  });
});

describe('resolveTimeoutConfig', () => {
  test('no tiers: the global defaults, as a copy', () => {
    const config = resolveTimeoutConfig(DEFAULTS);
    assert.deepEqual(config, DEFAULTS);
    assert.notEqual(config, DEFAULTS);
  });

  test('undefined tiers and empty tiers change nothing', () => {
    assert.deepEqual(resolveTimeoutConfig(DEFAULTS, undefined, {}, undefined), DEFAULTS);
  });

  test('agent tier overrides the global defaults field by field', () => {
    assert.deepEqual(resolveTimeoutConfig(DEFAULTS, { timeoutMinutes: 60, autoRenew: false }), {
      timeoutMinutes: 60,
      autoRenew: false,
      maxDurationMinutes: 720,
      warningThresholdMinutes: 5,
    });
  });

  test('request tier overrides the agent tier, which overrides the global defaults', () => {
    const agent = { timeoutMinutes: 60, maxDurationMinutes: 120, warningThresholdMinutes: 10 };
    const request = { timeoutMinutes: 15, autoRenew: false };
    assert.deepEqual(resolveTimeoutConfig(DEFAULTS, agent, request), {
      timeoutMinutes: 15,
      autoRenew: false,
      maxDurationMinutes: 120,
      warningThresholdMinutes: 10,
    });
  });

  test('a later tier setting autoRenew true wins over an earlier false', () => {
    assert.equal(resolveTimeoutConfig(DEFAULTS, { autoRenew: false }, { autoRenew: true }).autoRenew, true);
  });

  test('fields explicitly undefined in a tier do not erase lower tiers', () => {
    const config = resolveTimeoutConfig(DEFAULTS, { timeoutMinutes: 45 }, { timeoutMinutes: undefined });
    assert.equal(config.timeoutMinutes, 45);
  });

  test('every field can come from the request tier alone', () => {
    const request: TimeoutConfig = {
      timeoutMinutes: 5,
      autoRenew: false,
      maxDurationMinutes: 1,
      warningThresholdMinutes: 60,
    };
    assert.deepEqual(resolveTimeoutConfig(DEFAULTS, undefined, request), request);
  });

  test('the inputs are not mutated', () => {
    const defaults = { ...DEFAULTS };
    const agent = { timeoutMinutes: 60 };
    resolveTimeoutConfig(defaults, agent, { timeoutMinutes: 10 });
    assert.deepEqual(defaults, DEFAULTS);
    assert.deepEqual(agent, { timeoutMinutes: 60 });
  });
});

describe('computeExpiresAt', () => {
  test('inactivity timeout decides when it comes first', () => {
    assert.equal(computeExpiresAt(T0, T0, DEFAULTS), T0 + 30 * MIN);
  });

  test('counts the timeout from the last renewal', () => {
    assert.equal(computeExpiresAt(T0, T0 + 100 * MIN, DEFAULTS), T0 + 130 * MIN);
  });

  test('the max-duration cap decides when it comes first', () => {
    assert.equal(computeExpiresAt(T0, T0 + 700 * MIN, DEFAULTS), T0 + 720 * MIN);
  });

  test('both limits equal: that instant', () => {
    assert.equal(computeExpiresAt(T0, T0 + 690 * MIN, DEFAULTS), T0 + 720 * MIN);
  });

  test('maxDuration below timeout: the cap decides from creation', () => {
    const config = { ...DEFAULTS, timeoutMinutes: 30, maxDurationMinutes: 10 };
    assert.equal(computeExpiresAt(T0, T0, config), T0 + 10 * MIN);
  });
});

describe('createSession', () => {
  test('creation is the first renewal, renewalCount 0', () => {
    const session = newSession({}, T0 + 123);
    assert.deepEqual(session, {
      ...IDS,
      metadata: { plan: 'pro' },
      config: DEFAULTS,
      replyPolicy: 'enqueue',
      createdAt: T0 + 123,
      lastActivity: T0 + 123,
      lastRenewal: T0 + 123,
      expiresAt: T0 + 123 + 30 * MIN,
      renewalCount: 0,
      lastMessageAt: null,
    });
  });

  test('maxDuration below timeout: expiresAt is the cap', () => {
    const session = newSession({ timeoutMinutes: 60, maxDurationMinutes: 20 });
    assert.equal(session.expiresAt, T0 + 20 * MIN);
  });
});

describe('isExpired / timeRemaining / assertActive', () => {
  const session = newSession();

  test('not expired 1 ms before expiresAt', () => {
    assert.equal(isExpired(session, session.expiresAt - 1), false);
    assert.equal(timeRemaining(session, session.expiresAt - 1), 1);
  });

  test('expired at exactly expiresAt', () => {
    assert.equal(isExpired(session, session.expiresAt), true);
    assert.equal(timeRemaining(session, session.expiresAt), 0);
  });

  test('expired after expiresAt, timeRemaining never negative', () => {
    assert.equal(isExpired(session, session.expiresAt + 1), true);
    assert.equal(timeRemaining(session, session.expiresAt + 1), 0);
    assert.equal(timeRemaining(session, session.expiresAt + 10 * MIN), 0);
  });

  test('timeRemaining at creation is the whole timeout', () => {
    assert.equal(timeRemaining(session, T0), 30 * MIN);
  });

  test('assertActive passes 1 ms before and throws SESSION_EXPIRED at expiresAt', () => {
    assert.doesNotThrow(() => assertActive(session, session.expiresAt - 1));
    const error = catchAppError(() => assertActive(session, session.expiresAt));
    assert.equal(error.code, 'SESSION_EXPIRED');
    assert.equal(error.status, 410);
    assert.deepEqual(error.extra, {
      sessionId: IDS.id,
      expiresAt: new Date(session.expiresAt).toISOString(),
    });
  });
});

describe('isNearExpiration / warningStartsAt', () => {
  const session = newSession(); // threshold 5 minutes
  const threshold = 5 * MIN;

  test('remaining exactly the threshold: near', () => {
    assert.equal(isNearExpiration(session, session.expiresAt - threshold), true);
  });

  test('remaining threshold + 1 ms: not near', () => {
    assert.equal(isNearExpiration(session, session.expiresAt - threshold - 1), false);
  });

  test('1 ms remaining: near', () => {
    assert.equal(isNearExpiration(session, session.expiresAt - 1), true);
  });

  test('0 remaining (expired): not near', () => {
    assert.equal(isNearExpiration(session, session.expiresAt), false);
    assert.equal(isNearExpiration(session, session.expiresAt + MIN), false);
  });

  test('uses the session own threshold', () => {
    const wide = newSession({ warningThresholdMinutes: 20 });
    assert.equal(isNearExpiration(wide, wide.expiresAt - 20 * MIN), true);
    assert.equal(isNearExpiration(wide, wide.expiresAt - 20 * MIN - 1), false);
  });

  test('warningStartsAt is expiresAt minus the threshold', () => {
    assert.equal(warningStartsAt(session), session.expiresAt - threshold);
    assert.equal(isNearExpiration(session, warningStartsAt(session)), true);
    assert.equal(isNearExpiration(session, warningStartsAt(session) - 1), false);
  });
});

describe('isPastRetention', () => {
  const session = newSession();
  const retention = 24 * 60 * MIN;

  test('kept until expiresAt + retention, gone at that instant', () => {
    assert.equal(isPastRetention(session, session.expiresAt + retention - 1, retention), false);
    assert.equal(isPastRetention(session, session.expiresAt + retention, retention), true);
  });

  test('zero retention: gone as soon as it expires', () => {
    assert.equal(isPastRetention(session, session.expiresAt - 1, 0), false);
    assert.equal(isPastRetention(session, session.expiresAt, 0), true);
  });
});

describe('recordActivity', () => {
  test('autoRenew on: renews, renewalCount + 1, lastActivity = now', () => {
    const session = newSession();
    const now = T0 + 10 * MIN;
    const result = recordActivity(session, now);
    assert.equal(result.wasRenewed, true);
    assert.deepEqual(result.session, {
      ...session,
      lastActivity: now,
      lastRenewal: now,
      expiresAt: now + 30 * MIN,
      renewalCount: 1,
    });
  });

  test('autoRenew on: successive activities count every renewal', () => {
    let session = newSession();
    for (let i = 1; i <= 3; i++) {
      const result = recordActivity(session, T0 + i * MIN);
      assert.equal(result.wasRenewed, true);
      session = result.session;
    }
    assert.equal(session.renewalCount, 3);
    assert.equal(session.lastRenewal, T0 + 3 * MIN);
    assert.equal(session.expiresAt, T0 + 33 * MIN);
  });

  test('autoRenew off: only lastActivity moves', () => {
    const session = newSession({ autoRenew: false });
    const now = T0 + 10 * MIN;
    const result = recordActivity(session, now);
    assert.equal(result.wasRenewed, false);
    assert.deepEqual(result.session, { ...session, lastActivity: now });
  });

  test('renewal partly clipped by the cap still counts (expiresAt moves)', () => {
    const session = newSession({ timeoutMinutes: 30, maxDurationMinutes: 40 });
    const now = T0 + 20 * MIN;
    const result = recordActivity(session, now);
    assert.equal(result.wasRenewed, true);
    assert.equal(result.session.expiresAt, T0 + 40 * MIN);
    assert.equal(result.session.renewalCount, 1);
    assert.equal(result.session.lastRenewal, now);
  });

  test('at the cap: wasRenewed false, renewalCount and lastRenewal unchanged, lastActivity = now', () => {
    let session = newSession({ timeoutMinutes: 30, maxDurationMinutes: 40 });
    session = recordActivity(session, T0 + 20 * MIN).session; // now at the cap: T0 + 40 min
    const now = T0 + 25 * MIN;
    const result = recordActivity(session, now);
    assert.equal(result.wasRenewed, false);
    assert.deepEqual(result.session, { ...session, lastActivity: now });
    assert.equal(result.session.renewalCount, 1);
    assert.equal(result.session.expiresAt, T0 + 40 * MIN);
  });

  test('maxDuration below timeout: no activity ever renews', () => {
    const session = newSession({ timeoutMinutes: 60, maxDurationMinutes: 10 });
    const result = recordActivity(session, T0 + 5 * MIN);
    assert.equal(result.wasRenewed, false);
    assert.equal(result.session.renewalCount, 0);
    assert.equal(result.session.expiresAt, T0 + 10 * MIN);
  });

  test('activity in the same millisecond as the last renewal still counts', () => {
    const session = newSession();
    const result = recordActivity(session, T0);
    assert.equal(result.wasRenewed, true);
    assert.deepEqual(result.session, { ...session, renewalCount: 1 });
    const again = recordActivity(result.session, T0);
    assert.equal(again.wasRenewed, true);
    assert.equal(again.session.renewalCount, 2);
    assert.equal(again.session.expiresAt, T0 + 30 * MIN);
  });

  test('a clock behind lastRenewal (another instance) does not shorten the session', () => {
    const session = recordActivity(newSession(), T0 + 10 * MIN).session;
    const result = recordActivity(session, T0 + 5 * MIN);
    assert.equal(result.wasRenewed, false);
    assert.equal(result.session.expiresAt, T0 + 40 * MIN);
    assert.equal(result.session.lastRenewal, T0 + 10 * MIN);
    assert.equal(result.session.renewalCount, 1);
  });

  test('activity 1 ms before expiry still renews', () => {
    const session = newSession();
    const now = session.expiresAt - 1;
    const result = recordActivity(session, now);
    assert.equal(result.wasRenewed, true);
    assert.equal(result.session.expiresAt, now + 30 * MIN);
  });

  test('on an expired session: throws SESSION_EXPIRED with expiresAt', () => {
    const session = newSession();
    const error = catchAppError(() => recordActivity(session, session.expiresAt));
    assert.equal(error.code, 'SESSION_EXPIRED');
    assert.equal(error.status, 410);
    assert.equal(error.extra?.expiresAt, '2026-01-01T00:30:00.000Z');
    assert.equal(error.extra?.sessionId, IDS.id);
  });

  test('does not mutate its input', () => {
    const session = newSession();
    const copy = structuredClone(session);
    recordActivity(session, T0 + MIN);
    assert.deepEqual(session, copy);
  });
});

describe('renewManually', () => {
  for (const autoRenew of [true, false]) {
    test(`renews with autoRenew ${autoRenew ? 'on' : 'off'}`, () => {
      const session = newSession({ autoRenew });
      const now = T0 + 7 * MIN;
      assert.deepEqual(renewManually(session, now), {
        ...session,
        lastActivity: now,
        lastRenewal: now,
        expiresAt: now + 30 * MIN,
        renewalCount: 1,
      });
    });
  }

  test('at the cap: SESSION_RENEWAL_FAILED (422) and the input is unchanged', () => {
    const session = newSession({ timeoutMinutes: 60, maxDurationMinutes: 10 });
    const copy = structuredClone(session);
    const error = catchAppError(() => renewManually(session, T0 + 5 * MIN));
    assert.equal(error.code, 'SESSION_RENEWAL_FAILED');
    assert.equal(error.status, 422);
    assert.deepEqual(error.extra, { sessionId: IDS.id, expiresAt: '2026-01-01T00:10:00.000Z' });
    assert.deepEqual(session, copy);
  });

  test('in the same millisecond as creation: still a renewal (only the cap refuses)', () => {
    const session = newSession();
    assert.deepEqual(renewManually(session, T0), { ...session, renewalCount: 1 });
  });

  test('a clock behind lastRenewal never shortens the session: SESSION_RENEWAL_FAILED', () => {
    const session = recordActivity(newSession(), T0 + 10 * MIN).session;
    const error = catchAppError(() => renewManually(session, T0 + 5 * MIN));
    assert.equal(error.code, 'SESSION_RENEWAL_FAILED');
  });

  test('on an expired session: SESSION_EXPIRED, not a renewal', () => {
    const session = newSession();
    const error = catchAppError(() => renewManually(session, session.expiresAt + 1));
    assert.equal(error.code, 'SESSION_EXPIRED');
    assert.equal(error.extra?.expiresAt, new Date(session.expiresAt).toISOString());
  });
});

describe('applyTimeoutPatch', () => {
  test('{} changes nothing', () => {
    const session = newSession();
    assert.deepEqual(applyTimeoutPatch(session, {}, T0 + MIN), session);
  });

  test('keeps every field it is not given', () => {
    const session = newSession({ autoRenew: false, warningThresholdMinutes: 9 });
    const patched = applyTimeoutPatch(session, { timeoutMinutes: 45 }, T0 + MIN);
    assert.deepEqual(patched.config, {
      timeoutMinutes: 45,
      autoRenew: false,
      maxDurationMinutes: 720,
      warningThresholdMinutes: 9,
    });
    assert.equal(patched.expiresAt, T0 + 45 * MIN);
  });

  test('recomputes expiresAt from the stored lastRenewal, not from now', () => {
    const session = recordActivity(newSession(), T0 + 10 * MIN).session; // lastRenewal T0+10
    const patched = applyTimeoutPatch(session, { timeoutMinutes: 60 }, T0 + 20 * MIN);
    assert.deepEqual(patched, {
      ...session,
      config: { ...session.config, timeoutMinutes: 60 },
      expiresAt: T0 + 70 * MIN,
    });
    // PATCH is not activity.
    assert.equal(patched.lastActivity, T0 + 10 * MIN);
    assert.equal(patched.renewalCount, 1);
  });

  test('a smaller maxDuration lowers expiresAt to the cap', () => {
    const session = newSession();
    const patched = applyTimeoutPatch(session, { maxDurationMinutes: 10 }, T0 + MIN);
    assert.equal(patched.expiresAt, T0 + 10 * MIN);
    assert.equal(patched.config.maxDurationMinutes, 10);
  });

  test('autoRenew and warningThreshold changes keep expiresAt', () => {
    const session = newSession();
    const patched = applyTimeoutPatch(session, { autoRenew: false, warningThresholdMinutes: 15 }, T0 + MIN);
    assert.equal(patched.expiresAt, session.expiresAt);
    assert.equal(patched.config.autoRenew, false);
    assert.equal(patched.config.warningThresholdMinutes, 15);
  });

  test('a change giving expiresAt <= now is VALIDATION_ERROR and leaves the input unchanged', () => {
    const session = newSession();
    const copy = structuredClone(session);
    // now = T0 + 10 min; a 10-minute cap gives expiresAt = now exactly.
    const error = catchAppError(() => applyTimeoutPatch(session, { maxDurationMinutes: 10 }, T0 + 10 * MIN));
    assert.equal(error.code, 'VALIDATION_ERROR');
    assert.equal(error.status, 400);
    // The field that would expire it is named, not the whole configuration.
    assert.match(error.details ?? '', /^maxDurationMinutes: /);
    assert.deepEqual(session, copy);
  });

  test('a change giving expiresAt well in the past is VALIDATION_ERROR', () => {
    const session = newSession();
    const error = catchAppError(() => applyTimeoutPatch(session, { timeoutMinutes: 5 }, T0 + 20 * MIN));
    assert.equal(error.code, 'VALIDATION_ERROR');
  });

  test('a change giving expiresAt = now + 1 ms is accepted', () => {
    const session = newSession();
    const now = T0 + 10 * MIN - 1;
    const patched = applyTimeoutPatch(session, { maxDurationMinutes: 10 }, now);
    assert.equal(patched.expiresAt, now + 1);
  });

  test('on an expired session: SESSION_EXPIRED', () => {
    const session = newSession();
    const error = catchAppError(() => applyTimeoutPatch(session, { timeoutMinutes: 60 }, session.expiresAt));
    assert.equal(error.code, 'SESSION_EXPIRED');
  });
});

describe('nextMessageTime', () => {
  test('first message: now', () => {
    assert.equal(nextMessageTime(newSession(), T0 + 5), T0 + 5);
  });

  test('later than the previous message: now', () => {
    const session = { ...newSession(), lastMessageAt: T0 + 5 };
    assert.equal(nextMessageTime(session, T0 + 6), T0 + 6);
  });

  test('same millisecond as the previous message: one ms later', () => {
    const session = { ...newSession(), lastMessageAt: T0 + 5 };
    assert.equal(nextMessageTime(session, T0 + 5), T0 + 6);
  });

  test('clock behind the previous message: still strictly after it', () => {
    const session = { ...newSession(), lastMessageAt: T0 + 50 };
    assert.equal(nextMessageTime(session, T0 + 10), T0 + 51);
  });

  test('a burst in one millisecond gives strictly increasing times', () => {
    let session: Session = newSession();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const at = nextMessageTime(session, T0);
      times.push(at);
      session = { ...session, lastMessageAt: at };
    }
    assert.deepEqual(times, [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]);
  });
});

describe('toSessionInfo / toSessionStatus', () => {
  test('SessionInfo of an active session', () => {
    const session = newSession({}, T0 + 7);
    assert.deepEqual(toSessionInfo(session, T0 + 1007), {
      sessionId: IDS.id,
      channelId: IDS.channelId,
      agentId: IDS.agentId,
      userId: IDS.userId,
      status: 'active',
      createdAt: '2026-01-01T00:00:00.007Z',
      lastActivity: '2026-01-01T00:00:00.007Z',
      expiresAt: '2026-01-01T00:30:00.007Z',
      timeoutConfig: DEFAULTS,
      renewalCount: 0,
      timeRemaining: 30 * MIN - 1000,
      isNearExpiration: false,
      metadata: { plan: 'pro' },
      replyPolicy: 'enqueue',
    });
  });

  test('SessionInfo of a session in its warning window', () => {
    const session = newSession();
    const info = toSessionInfo(session, session.expiresAt - 5 * MIN);
    assert.equal(info.status, 'active');
    assert.equal(info.isNearExpiration, true);
    assert.equal(info.timeRemaining, 5 * MIN);
  });

  test('SessionInfo of an expired session: status expired, timeRemaining 0', () => {
    const session = newSession();
    const info = toSessionInfo(session, session.expiresAt + 5 * MIN);
    assert.equal(info.status, 'expired');
    assert.equal(info.timeRemaining, 0);
    assert.equal(info.isNearExpiration, false);
    assert.equal(info.expiresAt, '2026-01-01T00:30:00.000Z');
  });

  test('SessionInfo after a renewal shows lastActivity and renewalCount', () => {
    const renewed = recordActivity(newSession(), T0 + 60_500).session;
    const info = toSessionInfo(renewed, T0 + 60_500);
    assert.equal(info.lastActivity, '2026-01-01T00:01:00.500Z');
    assert.equal(info.createdAt, '2026-01-01T00:00:00.000Z');
    assert.equal(info.expiresAt, '2026-01-01T00:31:00.500Z');
    assert.equal(info.renewalCount, 1);
  });

  test('timestamps always carry milliseconds, even when zero', () => {
    const info = toSessionInfo(newSession(), T0);
    for (const value of [info.createdAt, info.lastActivity, info.expiresAt]) {
      assert.match(value, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  test('SessionStatus shape', () => {
    const session = newSession();
    assert.deepEqual(toSessionStatus(session, true, T0), {
      expiresAt: '2026-01-01T00:30:00.000Z',
      renewalCount: 0,
      wasRenewed: true,
      isNearExpiration: false,
    });
    assert.deepEqual(toSessionStatus(session, false, session.expiresAt - MIN), {
      expiresAt: '2026-01-01T00:30:00.000Z',
      renewalCount: 0,
      wasRenewed: false,
      isNearExpiration: true,
    });
  });
});
