/** Rows for the store suites: fixed times, fresh ids. */
import { randomUUID } from 'node:crypto';
import type { Session, TimeoutConfig } from '../../src/domain/session.js';

export const MIN = 60_000;
export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
/** Far beyond 2^31 seconds and 2^32 ms: times must survive as 64-bit integers. */
export const YEAR_2100 = Date.parse('2100-01-01T00:00:00.123Z');

export const CONFIG: TimeoutConfig = { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 };

/** A session created at `createdAt` (T0 unless given), untouched since, expiring 30 min later. */
export function makeSession(overrides: Partial<Session> = {}): Session {
  const createdAt = overrides.createdAt ?? T0;
  return {
    id: randomUUID(),
    channelId: randomUUID(),
    agentId: randomUUID(),
    userId: randomUUID(),
    metadata: {},
    config: { ...CONFIG },
    replyPolicy: 'enqueue',
    createdAt,
    lastActivity: createdAt,
    lastRenewal: createdAt,
    expiresAt: createdAt + 30 * MIN,
    renewalCount: 0,
    lastMessageAt: null,
    ...overrides,
  };
}
