/**
 * Group commit of the embedded store: transactions begun in the same event-loop turn share one
 * SQLite transaction, each in its own savepoint. Checked from a second connection to the file,
 * which sees only what is committed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { makeSession } from './fixtures.js';

test('one commit for a turn; a failing transaction rolled back alone; answers only after the commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-group-'));
  const file = join(dir, 'group.db');
  const store = openSqliteStore(file);
  try {
    await store.migrate();
    const observer = new BetterSqlite3(file, { readonly: true });
    const committed = (id: string) => observer.prepare('select count(*) as n from sessions where id = ?').pluck().get(id) === 1;
    const [a, b, c] = [makeSession(), makeSession(), makeSession()];

    const seenByThird: boolean[] = [];
    const first = store.transaction(async (tx) => {
      await tx.insertSession(a);
      return 'first';
    });
    const second = store.transaction(async (tx) => {
      await tx.insertSession(b);
      throw new Error('second fails');
    });
    const third = store.transaction(async (tx) => {
      // Inside the shared transaction: the first one's row is there, but not committed yet.
      seenByThird.push((await tx.getSession(a.id)) !== undefined, committed(a.id));
      await tx.insertSession(c);
      return 'third';
    });
    const firstAnswered = first.then((value) => ({ value, committed: committed(a.id) && committed(c.id) }));

    assert.deepEqual(await firstAnswered, { value: 'first', committed: true }, 'answered after the shared commit');
    await assert.rejects(second, /second fails/);
    assert.equal(await third, 'third');
    assert.deepEqual(seenByThird, [true, false]);
    assert.equal(committed(b.id), false, 'the failed one rolled back alone');
    assert.equal(await store.getSession(b.id), undefined);
    assert.deepEqual(await store.getSession(c.id), c);
    const counts = await store.listSessions({ status: 'all', limit: 10, offset: 0, now: a.createdAt, retentionMs: 0 });
    assert.equal(counts.stats.totalSessions, 2, 'the counters moved for the two that committed only');

    // Transactions of a later turn commit on their own.
    const d = makeSession();
    await store.transaction((tx) => tx.insertSession(d));
    assert.equal(committed(d.id), true);
    observer.close();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
