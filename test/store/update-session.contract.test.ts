/**
 * `Store.updateSession`, the read-decide-write of heartbeats, renewals and PATCHes, on both
 * stores, with two stores on the same database as two instances of the fleet. On PostgreSQL a
 * store writes optimistically on the state it last read or wrote of the session; these cases
 * make that state out of date through the other instance (renewals, a PATCH, the scheduler, a
 * delete) and check that nothing is lost and no refusal is decided on it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AppError, sessionNotFound } from '../../src/domain/errors.js';
import type { PendingEvent, SessionEvent } from '../../src/domain/events.js';
import type { JsonObject } from '../../src/domain/json.js';
import { dueLifecycleEvents, rearmsWarning } from '../../src/domain/schedule.js';
import {
  applySettingsPatch,
  applyTimeoutPatch,
  recordActivity,
  renewManually,
  toSessionInfo,
  type Session,
  type SessionInfo,
} from '../../src/domain/session.js';
import type { SessionChange, Store } from '../../src/store/store.js';
import { backends } from './backends.js';
import { makeSession, MIN, T0 } from './fixtures.js';

type Decide = (current: Session | undefined) => SessionChange;

const found = (current: Session | undefined): Session => {
  if (!current) throw sessionNotFound('the session');
  return current;
};

const renewed = (next: Session, now: number): PendingEvent => ({ type: 'session.renewed', at: now, data: toSessionInfo(next, now) });

/** The service's decisions (services/sessions.ts), on the state the store hands over. */
const heartbeat =
  (now: number): Decide =>
  (current) => {
    const { session: next, wasRenewed } = recordActivity(found(current), now);
    return { next, events: wasRenewed ? [renewed(next, now)] : [], options: { rearmWarning: rearmsWarning(next, now) } };
  };

const renew =
  (now: number): Decide =>
  (current) => {
    const next = renewManually(found(current), now);
    return { next, events: [renewed(next, now)], options: { rearmWarning: rearmsWarning(next, now) } };
  };

/** A PATCH that adds one key to the metadata the session has when it is decided. */
const addKey =
  (key: string, now: number): Decide =>
  (current) => {
    const session = found(current);
    const next = applySettingsPatch(session, { metadata: { ...session.metadata, [key]: true } }, now);
    return { next, events: [], options: { settings: true } };
  };

const timeout =
  (timeoutMinutes: number, now: number): Decide =>
  (current) => {
    const next = applyTimeoutPatch(found(current), { timeoutMinutes }, now);
    return { next, events: [], options: { rearmWarning: rearmsWarning(next, now) } };
  };

/** The scheduler's emission (realtime/scheduler.ts): under the row lock, in a transaction. */
function emitDue(store: Store, id: string, now: number): Promise<SessionEvent[]> {
  return store.transaction(async (tx) => {
    const current = await tx.getLifecycle(id);
    assert.ok(current);
    const due = dueLifecycleEvents(current.session, current.flags, now);
    const info = toSessionInfo(current.session, now);
    return tx.emitLifecycle([
      {
        sessionId: id,
        events: due.map((type) => ({ type, at: now, data: info })),
        before: current.flags,
        after: {
          warned: current.flags.warned || due.includes('session.warning'),
          expiryEmitted: current.flags.expiryEmitted || due.includes('session.expired'),
        },
      },
    ]);
  });
}

const rejectsWith = (work: Promise<unknown>, code: string) =>
  assert.rejects(work, (error: unknown) => error instanceof AppError && error.code === code);

const info = (event: SessionEvent | undefined) => event?.data as SessionInfo;

for (const backend of backends()) {
  describe(`Store.updateSession: ${backend.name}`, { skip: backend.skip }, () => {
    /** Two instances of the fleet on one database. */
    let a: Store;
    let b: Store;

    before(async () => {
      const opened = await backend.open();
      a = opened.store;
      b = opened.another();
    });
    after(() => backend.cleanup());

    const inserted = async (overrides: Partial<Session> = {}) => {
      const session = makeSession(overrides);
      await a.insertSession(session);
      return session;
    };

    test('decides on the stored state; writes the change with its events numbered after the last', async () => {
      const s = await inserted();
      await a.appendEvents(s.id, [{ type: 'message.created', at: T0 + 1, data: {} }]);
      const now = T0 + MIN;
      const result = await a.updateSession(s.id, heartbeat(now));
      const expected: Session = { ...s, lastActivity: now, lastRenewal: now, expiresAt: now + 30 * MIN, renewalCount: 1 };
      assert.deepEqual(result.session, expected);
      assert.deepEqual(result.events, [
        { type: 'session.renewed', sessionId: s.id, seq: 2, at: new Date(now).toISOString(), data: toSessionInfo(expected, now) },
      ]);
      assert.deepEqual(await b.getSession(s.id), expected);
      assert.deepEqual(await b.eventsAfter(s.id, 1, 10), result.events);
    });

    test('metadata and reply policy are written by a settings change only', async () => {
      const s = await inserted({ metadata: { kept: 1 } });
      const sneaky: Decide = (current) => ({ next: { ...found(current), metadata: { lost: 1 }, replyPolicy: 'reject' }, events: [] });
      assert.deepEqual((await a.updateSession(s.id, sneaky)).events, []);
      assert.deepEqual(await b.getSession(s.id), s);
      // The state a store writes on next is the stored one, not the one it was handed.
      const patched = await a.updateSession(s.id, addKey('added', T0 + MIN));
      assert.deepEqual(patched.session.metadata, { kept: 1, added: true });
      assert.deepEqual(await b.getSession(s.id), { ...s, metadata: { kept: 1, added: true } });
    });

    test('a refusal writes nothing and is the caller’s error; a missing session is decided as undefined', async () => {
      const s = await inserted();
      await rejectsWith(a.updateSession(s.id, timeout(1, T0 + 5 * MIN)), 'VALIDATION_ERROR');
      assert.deepEqual(await b.getSession(s.id), s);
      assert.deepEqual(await b.eventsAfter(s.id, 0, 10), []);

      const ghost = randomUUID();
      const seen: Array<Session | undefined> = [];
      await rejectsWith(
        a.updateSession(ghost, (current) => {
          seen.push(current);
          return heartbeat(T0)(current);
        }),
        'SESSION_NOT_FOUND',
      );
      assert.deepEqual(seen, [undefined]);
      const blind = await a.updateSession(ghost, () => ({ next: makeSession({ id: ghost }), events: [renewed(s, T0)] }));
      assert.deepEqual(blind.events, [], 'a change for a missing session writes nothing');
      assert.equal(await b.getSession(ghost), undefined);
      assert.deepEqual(await b.eventsAfter(ghost, 0, 10), []);
    });

    test('concurrent heartbeats of one instance on one session: every renewal counted, seqs 1..n', async () => {
      const s = await inserted();
      const now = T0 + MIN;
      const N = 20;
      const results = await Promise.all(Array.from({ length: N }, () => a.updateSession(s.id, heartbeat(now))));
      assert.deepEqual(
        results.map((r) => r.session.renewalCount).sort((x, y) => x - y),
        Array.from({ length: N }, (_, i) => i + 1),
      );
      assert.equal((await b.getSession(s.id))!.renewalCount, N);
      assert.deepEqual(
        (await b.eventsAfter(s.id, 0, 100)).map((e) => e.seq),
        Array.from({ length: N }, (_, i) => i + 1),
      );
    });

    test('two instances interleaving heartbeats, renewals and PATCHes: no lost update', async () => {
      const s = await inserted({ metadata: { first: true } });
      await a.getSession(s.id);
      await b.getSession(s.id);
      const now = T0 + MIN;
      const renewals = 24;
      const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
      const work = [
        ...Array.from({ length: renewals }, (_, i) => {
          const store = i % 2 === 0 ? a : b;
          return store.updateSession(s.id, i % 3 === 0 ? renew(now) : heartbeat(now));
        }),
        ...keys.map((key, i) => (i % 2 === 0 ? b : a).updateSession(s.id, addKey(key, now))),
      ];
      const results = await Promise.all(work);

      const metadata: JsonObject = { first: true, ...Object.fromEntries(keys.map((key) => [key, true])) };
      const final = await a.getSession(s.id);
      assert.deepEqual(final, { ...s, metadata, lastActivity: now, lastRenewal: now, expiresAt: now + 30 * MIN, renewalCount: renewals });
      assert.deepEqual(await b.getSession(s.id), final);

      // Every renewal is one event, numbered 1..n without a gap, each carrying the count it made.
      const stored = await b.eventsAfter(s.id, 0, 100);
      assert.deepEqual(
        stored.map((e) => e.seq),
        Array.from({ length: renewals }, (_, i) => i + 1),
      );
      assert.deepEqual(
        stored.map((e) => info(e).renewalCount),
        Array.from({ length: renewals }, (_, i) => i + 1),
      );
      // What each call answered is what it stored: its state, and its event as numbered.
      const answered = results.flatMap((r) => r.events).sort((x, y) => x.seq - y.seq);
      assert.deepEqual(answered, stored);
      for (const r of results.slice(0, renewals)) assert.equal(info(r.events[0]).renewalCount, r.session.renewalCount);
      // A PATCH answers the state it stored: its own key with the others'.
      for (const [i, r] of results.slice(renewals).entries()) {
        assert.equal(r.session.metadata[keys[i]!], true);
        assert.equal(r.session.metadata.first, true);
      }
    });

    test('a state kept from before another instance renewed and patched: the write reflects both', async () => {
      const s = await inserted();
      assert.deepEqual(await a.getSession(s.id), s);
      await b.updateSession(s.id, renew(T0 + MIN));
      await b.updateSession(s.id, addKey('plan', T0 + MIN));

      const now = T0 + 2 * MIN;
      const result = await a.updateSession(s.id, heartbeat(now));
      const expected: Session = {
        ...s,
        metadata: { plan: true },
        lastActivity: now,
        lastRenewal: now,
        expiresAt: now + 30 * MIN,
        renewalCount: 2,
      };
      assert.deepEqual(result.session, expected);
      assert.deepEqual(
        result.events.map((e) => [e.type, e.seq]),
        [['session.renewed', 2]],
      );
      assert.deepEqual(info(result.events[0]), toSessionInfo(expected, now));
      assert.deepEqual(await b.getSession(s.id), expected);
    });

    test('a state kept from before a longer timeout: no 410 decided on it', async () => {
      const s = await inserted();
      await a.getSession(s.id);
      // Expires at T0 + 30 min as A saw it; B gives it an hour.
      await b.updateSession(s.id, timeout(60, T0 + 20 * MIN));
      const now = T0 + 40 * MIN;
      const result = await a.updateSession(s.id, heartbeat(now));
      assert.equal(result.session.renewalCount, 1);
      assert.equal(result.session.expiresAt, now + 60 * MIN);
      assert.deepEqual(await b.getSession(s.id), result.session);
    });

    test('the scheduler expired the session after a shorter timeout: a heartbeat on a kept state is refused, nothing revived', async () => {
      const s = await inserted();
      await a.updateSession(s.id, heartbeat(T0 + MIN));
      // A last wrote expiresAt T0 + 31 min; B shortens it to T0 + 6 min, then expires it.
      await b.updateSession(s.id, timeout(5, T0 + 2 * MIN));
      const expired = await emitDue(b, s.id, T0 + 7 * MIN);
      assert.deepEqual(
        expired.map((e) => [e.type, e.seq]),
        [
          ['session.warning', 2],
          ['session.expired', 3],
        ],
      );
      const stored = await b.getSession(s.id);

      await rejectsWith(a.updateSession(s.id, heartbeat(T0 + 7 * MIN)), 'SESSION_EXPIRED');
      await rejectsWith(a.updateSession(s.id, renew(T0 + 7 * MIN)), 'SESSION_EXPIRED');
      assert.deepEqual(await b.getSession(s.id), stored);
      assert.equal(stored!.expiresAt, T0 + 6 * MIN);
      assert.deepEqual((await b.getLifecycle(s.id))!.flags, { warned: true, expiryEmitted: true });
      assert.deepEqual(
        (await b.eventsAfter(s.id, 0, 10)).map((e) => e.type),
        ['session.renewed', 'session.warning', 'session.expired'],
      );
    });

    test('flags set by the scheduler move the version, not the state: the next write still lands', async () => {
      const s = await inserted();
      await a.updateSession(s.id, heartbeat(T0 + MIN));
      await b.setLifecycleFlags(s.id, { warned: true, expiryEmitted: false });
      const result = await a.updateSession(s.id, heartbeat(T0 + 2 * MIN));
      assert.equal(result.session.renewalCount, 2);
      assert.deepEqual(
        result.events.map((e) => e.seq),
        [2],
      );
      // The renewal took it out of its warning window: re-armed.
      assert.deepEqual((await b.getLifecycle(s.id))!.flags, { warned: false, expiryEmitted: false });
    });

    test('a session deleted by another instance, on a kept state: not found, nothing written', async () => {
      const s = await inserted();
      await a.updateSession(s.id, heartbeat(T0 + MIN));
      assert.equal(await b.deleteSession(s.id), true);
      await rejectsWith(a.updateSession(s.id, heartbeat(T0 + 2 * MIN)), 'SESSION_NOT_FOUND');
      await rejectsWith(a.updateSession(s.id, addKey('late', T0 + 2 * MIN)), 'SESSION_NOT_FOUND');
      assert.equal(await a.getSession(s.id), undefined);
      assert.equal(await b.getSession(s.id), undefined);
      assert.deepEqual(await b.eventsAfter(s.id, 0, 10), []);
    });

    test('inside a transaction: under the row lock, rolled back with it', async () => {
      const s = await inserted();
      await a.getSession(s.id);
      await assert.rejects(
        a.transaction(async (tx) => {
          const result = await tx.updateSession(s.id, renew(T0 + MIN));
          assert.equal(result.events[0]!.seq, 1);
          throw new Error('undo');
        }),
        /undo/,
      );
      assert.deepEqual(await b.getSession(s.id), s);
      assert.deepEqual(await b.eventsAfter(s.id, 0, 10), []);
      // The rolled-back write left no trace the next one could build on.
      const result = await a.updateSession(s.id, renew(T0 + 2 * MIN));
      assert.equal(result.session.renewalCount, 1);
      assert.equal(result.events[0]!.seq, 1);
    });
  });
}
