/**
 * The embedded store's session cache: its rules on their own (SessionCache), then the SQLite
 * store with it, where a read must never return a state older than the last committed write,
 * whether the write came from this store, from a transaction of it, or from another connection
 * to the same file (another process).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Session } from '../../src/domain/session.js';
import { SessionCache } from '../../src/store/session-cache.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { makeSession as baseSession, MIN, T0 } from './fixtures.js';

/** With nested metadata, to see the cache freeze it all. */
const makeSession = (overrides: Partial<Session> = {}): Session =>
  baseSession({ metadata: { tags: ['a'], nested: { n: 1 } }, ...overrides });

/** The next state a heartbeat would write. */
const renewed = (s: Session, minutes: number): Session => ({
  ...s,
  lastActivity: T0 + minutes * MIN,
  lastRenewal: T0 + minutes * MIN,
  expiresAt: T0 + (minutes + 30) * MIN,
  renewalCount: s.renewalCount + 1,
});

describe('SessionCache', () => {
  let elsewhere = false;
  const cache = () => new SessionCache(() => elsewhere, 2);

  test('a filled session is returned, deep-frozen', () => {
    const c = cache();
    const s = makeSession();
    assert.equal(c.get(s.id), undefined);
    c.fill(c.ticket(), s);
    assert.equal(c.get(s.id), s);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.config) && Object.isFrozen(s.metadata.tags) && Object.isFrozen(s.metadata.nested));
    assert.throws(() => {
      (s as { renewalCount: number }).renewalCount = 9;
    }, TypeError);
  });

  test('invalidate drops the entry, and a fill with a ticket taken before it is ignored', () => {
    const c = cache();
    const a = makeSession();
    const b = makeSession();
    c.fill(c.ticket(), a);
    const stale = c.ticket();
    c.invalidate(b.id); // a write to any session voids tickets taken before it
    c.fill(stale, b);
    assert.equal(c.get(b.id), undefined);
    assert.equal(c.get(a.id), a, 'the other session stays');
    c.invalidate(a.id);
    assert.equal(c.get(a.id), undefined);
    c.fill(c.ticket(), b);
    assert.equal(c.get(b.id), b);
  });

  test('a commit elsewhere empties it and voids tickets taken before', () => {
    const c = cache();
    const a = makeSession();
    c.fill(c.ticket(), a);
    const before = c.ticket();
    elsewhere = true;
    assert.equal(c.get(a.id), undefined);
    elsewhere = false;
    assert.equal(c.size, 0);
    c.fill(before, a);
    assert.equal(c.get(a.id), undefined);
  });

  test('holds at most its capacity, dropping the oldest', () => {
    const c = cache();
    const [a, b, d] = [makeSession(), makeSession(), makeSession()];
    for (const s of [a, b, d]) c.fill(c.ticket(), s);
    assert.equal(c.size, 2);
    assert.equal(c.get(a.id), undefined);
    assert.equal(c.get(d.id), d);
  });
});

describe('the SQLite store with its cache', () => {
  let dir: string;
  let store: Store;
  /** A second connection to the same file, as a second process would have. */
  let other: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-sessions-cache-'));
    store = openSqliteStore(join(dir, 'sessions.db'));
    await store.migrate();
    other = openSqliteStore(join(dir, 'sessions.db'));
  });
  after(async () => {
    await store.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cachedSession(overrides: Partial<Session> = {}): Promise<Session> {
    const s = makeSession(overrides);
    await store.insertSession(s);
    assert.deepEqual(await store.getSession(s.id), s);
    assert.equal(await store.getSession(s.id), await store.getSession(s.id), 'served from the cache');
    return s;
  }

  test('its own writes are seen at once: save, save in a transaction, delete', async () => {
    const s = await cachedSession();
    await store.saveSession(renewed(s, 1), []);
    assert.deepEqual(await store.getSession(s.id), renewed(s, 1));
    await store.transaction((tx) => tx.saveSession(renewed(s, 2), []));
    assert.deepEqual(await store.getSession(s.id), renewed(s, 2));
    assert.equal(await store.deleteSession(s.id), true);
    assert.equal(await store.getSession(s.id), undefined);
  });

  test('a rolled-back transaction leaves the committed state', async () => {
    const s = await cachedSession();
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.saveSession(renewed(s, 1), []);
        assert.deepEqual(await tx.getSession(s.id), renewed(s, 1), 'the transaction reads its own write');
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.deepEqual(await store.getSession(s.id), s);
  });

  test('inside a transaction: the committed row, also after another connection wrote it; then its own write', async () => {
    const s = await cachedSession();
    await other.saveSession(renewed(s, 1), []);
    await store.transaction(async (tx) => {
      assert.deepEqual(await tx.getSession(s.id), renewed(s, 1));
      await tx.saveSession(renewed(s, 2), []);
      assert.deepEqual(await tx.getSession(s.id), renewed(s, 2));
    });
    assert.deepEqual(await store.getSession(s.id), renewed(s, 2));
  });

  test('a read under way when a write starts does not put the older state back', async () => {
    const s = await cachedSession();
    await store.saveSession(renewed(s, 1), []); // leaves s out of the cache
    const racing = store.getSession(s.id); // a miss: reads the row
    const write = store.saveSession(renewed(s, 2), []);
    await Promise.all([racing, write]);
    assert.deepEqual(await store.getSession(s.id), renewed(s, 2));
  });

  test("another connection's commits are seen at once: save, delete", async () => {
    const s = await cachedSession();
    await other.saveSession(renewed(s, 3), []);
    assert.deepEqual(await store.getSession(s.id), renewed(s, 3));
    assert.equal(await other.deleteSession(s.id), true);
    assert.equal(await store.getSession(s.id), undefined);
  });

  test('purged sessions are gone from it', async () => {
    // Expired before every other session of this file, so the purge takes it alone.
    const s = await cachedSession({ expiresAt: T0 - MIN });
    assert.equal(await store.purgeExpired(s.expiresAt, 100), 1);
    assert.equal(await store.getSession(s.id), undefined);
  });
});
