/**
 * The scheduler's batches on PostgreSQL, with real stores on a database of the test's own: two
 * instances ticking at once over the same due sessions emit every event exactly once, and a row
 * another transaction holds is skipped without waiting, then emitted at the next tick. (SQLite
 * has one writer: test/realtime/scheduler.test.ts covers it.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SessionEvent } from '../../src/domain/events.js';
import { LocalFanout } from '../../src/realtime/fanout.js';
import { Scheduler } from '../../src/realtime/scheduler.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/store.js';
import { ManualClock } from '../support/clock.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';
import { makeSession, MIN, T0 } from '../store/fixtures.js';

// Runs once, in the embedded pass; the scaled pass would only repeat it.
const skip =
  process.env.TEST_POSTGRES === '0'
    ? 'PostgreSQL not reachable'
    : process.env.TEST_STORE === 'postgres'
      ? 'runs in the embedded pass'
      : false;

/** The in-process fan-out, keeping what was published. */
class RecordingFanout extends LocalFanout {
  readonly published: SessionEvent[] = [];
  override publish(events: SessionEvent[]): void {
    this.published.push(...events);
    super.publish(events);
  }
}

let url: string;
const stores: Store[] = [];
const openStore = async () => {
  const store = openPostgresStore(url);
  stores.push(store);
  await store.migrate();
  return store;
};
const failOnError = (error: unknown) => {
  throw error;
};

before(async () => {
  if (!skip) url = await createTestDatabase();
});
after(async () => {
  for (const store of stores.splice(0)) await store.close();
  if (url) await dropTestDatabase(url);
});

const key = (e: SessionEvent) => `${e.sessionId}:${e.seq}`;

test('two instances ticking at once over 500 due sessions emit every event exactly once', { skip }, async () => {
  const [storeA, storeB] = [await openStore(), await openStore()];
  const clock = new ManualClock(T0 + 60 * MIN);
  const now = clock.now();
  const sessions = Array.from({ length: 500 }, (_, i) => makeSession({ createdAt: T0 + i, expiresAt: now - 500 + i }));
  await storeA.importSessions(sessions.map((session) => ({ session, flags: { warned: false, expiryEmitted: false } })));
  const [fanoutA, fanoutB] = [new RecordingFanout(), new RecordingFanout()];
  // Small batches, so that the two take turns many times while the other holds rows.
  const options = { pollMs: 500, batchSize: 20 };
  const a = new Scheduler(storeA, fanoutA, clock, failOnError, options);
  const b = new Scheduler(storeB, fanoutB, clock, failOnError, options);

  const [fromA, fromB] = await Promise.all([a.tick(), b.tick()]);
  const all = [...fromA, ...fromB];
  assert.equal(all.length, 1000, `emitted by A ${fromA.length}, by B ${fromB.length}`);
  assert.equal(new Set(all.map(key)).size, 1000, 'no event stored twice');
  assert.deepEqual(fanoutA.published, fromA, 'each instance published what it stored');
  assert.deepEqual(fanoutB.published, fromB);
  for (const s of sessions) {
    const stored = await storeB.eventsAfter(s.id, 0, 10);
    assert.deepEqual(
      stored.map((e) => `${e.seq}:${e.type}`),
      ['1:session.warning', '2:session.expired'],
    );
    assert.deepEqual(await storeA.getLifecycle(s.id), { session: s, flags: { warned: true, expiryEmitted: true } });
  }
  assert.deepEqual(await storeA.healthCounts(now), { activeSessions: 0, expiringSoon: 0, invalidSessions: 0 });
  const list = await storeB.listSessions({ status: 'all', limit: 1, offset: 0, now, retentionMs: 24 * 60 * MIN });
  assert.deepEqual(list.stats, { totalSessions: 500, activeSessions: 0, expiredSessions: 500 });
  assert.deepEqual(await Promise.all([a.tick(), b.tick()]), [[], []]);
});

test('a row another transaction holds is skipped without waiting, and emitted at the next tick', { skip }, async () => {
  const store = await openStore();
  const clock = new ManualClock(T0 + 60 * MIN);
  const held = makeSession({ expiresAt: clock.now() - MIN });
  const free = makeSession({ expiresAt: clock.now() - MIN });
  for (const s of [held, free]) await store.insertSession(s);
  const fanout = new RecordingFanout();
  const scheduler = new Scheduler(store, fanout, clock, failOnError, { pollMs: 500, batchSize: 20 });

  // A request's transaction holds `held` (a read inside a transaction locks the row) until
  // `release` is called.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const request = store.transaction(async (tx) => {
    assert.deepEqual(await tx.getSession(held.id), held);
    locked();
    await released;
  });
  await isLocked;

  // Resolving while the lock is held shows that the tick did not wait for it.
  const first = await scheduler.tick();
  assert.deepEqual(
    first.map((e) => `${e.sessionId === free.id ? 'free' : 'held'}:${e.seq}:${e.type}`),
    ['free:1:session.warning', 'free:2:session.expired'],
  );
  assert.deepEqual(await store.eventsAfter(held.id, 0, 10), []);
  assert.deepEqual((await store.getLifecycle(held.id))?.flags, { warned: false, expiryEmitted: false });

  release();
  await request;
  const next = await scheduler.tick();
  assert.deepEqual(
    next.map((e) => `${e.sessionId === held.id ? 'held' : 'free'}:${e.seq}:${e.type}`),
    ['held:1:session.warning', 'held:2:session.expired'],
  );
  assert.deepEqual(fanout.published, [...first, ...next]);
  assert.deepEqual(await scheduler.tick(), []);
});
