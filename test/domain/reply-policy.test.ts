/** SPEC §10: what a send does while the session is busy, for every policy and override. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/domain/errors.js';
import {
  DEFAULT_REPLY_POLICY,
  REPLY_POLICIES,
  decideSend,
  effectivePolicy,
  replyInProgress,
  type ReplyPolicy,
  type SendDecision,
} from '../../src/domain/reply-policy.js';
import { applySettingsPatch, createSession } from '../../src/domain/session.js';

/** The SPEC's table, written out independently of the source. */
const WHEN_BUSY: Record<ReplyPolicy, SendDecision> = { enqueue: 'store', reject: 'refuse', interrupt: 'cancel-then-store' };

test('the three policies, enqueue by default', () => {
  assert.deepEqual([...REPLY_POLICIES], ['enqueue', 'reject', 'interrupt']);
  assert.equal(DEFAULT_REPLY_POLICY, 'enqueue');
});

test('every session policy × every ifBusy (or none) × busy or idle', () => {
  for (const session of REPLY_POLICIES) {
    for (const ifBusy of [undefined, ...REPLY_POLICIES]) {
      const policy = effectivePolicy(session, ifBusy);
      assert.equal(policy, ifBusy ?? session, `${session}/${ifBusy}`);
      assert.equal(decideSend(policy, false), 'store', 'an idle session always stores');
      assert.equal(decideSend(policy, true), WHEN_BUSY[ifBusy ?? session], `${session}/${ifBusy} busy`);
    }
  }
});

test('REPLY_IN_PROGRESS is a 409 naming the session', () => {
  const error = replyInProgress('s-1', 2);
  assert.ok(error instanceof AppError);
  assert.equal(error.status, 409);
  assert.equal(error.code, 'REPLY_IN_PROGRESS');
  assert.deepEqual(error.extra, { sessionId: 's-1', pending: 2 });
});

test('a new session has the given policy, else enqueue; PATCH replaces metadata whole and keeps the rest', () => {
  const config = { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 };
  const base = { id: 'a', channelId: 'b', agentId: 'c', userId: 'd', metadata: { x: 1, y: 2 }, config };
  assert.equal(createSession(base, 0).replyPolicy, 'enqueue');
  const session = createSession({ ...base, replyPolicy: 'reject' }, 0);
  assert.equal(session.replyPolicy, 'reject');
  const patched = applySettingsPatch(session, { metadata: { z: 3 } }, 1000);
  assert.deepEqual(patched, { ...session, metadata: { z: 3 } }, 'not activity: lastActivity and expiry unchanged');
  assert.deepEqual(applySettingsPatch(session, { replyPolicy: 'interrupt' }, 1000), { ...session, replyPolicy: 'interrupt' });
  assert.throws(
    () => applySettingsPatch(session, { replyPolicy: 'enqueue' }, session.expiresAt),
    (e: AppError) => e.code === 'SESSION_EXPIRED',
  );
});
