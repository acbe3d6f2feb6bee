/**
 * A rolling deploy: new instances migrate while old ones still run. A migration that adds a
 * column to `sessions` must not break the old instances' statements that PostgreSQL keeps
 * prepared on their connections (the session read, the list's reads): those name their columns,
 * so the added one does not change their result type.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';
import { makeSession, MIN, T0 } from './fixtures.js';

test(
  'PostgreSQL: a column added to sessions while the store runs; its prepared reads go on working',
  { skip: process.env.TEST_POSTGRES === '0' ? 'PostgreSQL not reachable' : undefined },
  async () => {
    const url = await createTestDatabase();
    // One connection: every statement below is prepared on it, then run again on it.
    const store = openPostgresStore(url, 1);
    try {
      await store.migrate();
      const session = makeSession({ id: '7d0f1f5c-4a43-4d1e-9f8e-0a9d4c3b2a10' });
      await store.insertSession(session);
      const list = () => store.listSessions({ limit: 10, offset: 0, now: T0, retentionMs: 60 * MIN, status: 'active' });
      assert.equal((await store.getSession(session.id))?.id, session.id);
      assert.deepEqual(
        (await list()).sessions.map((s) => s.id),
        [session.id],
      );

      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query('alter table sessions add column added_by_a_later_migration integer');
      await admin.end();

      assert.equal((await store.getSession(session.id))?.id, session.id);
      assert.deepEqual(
        (await list()).sessions.map((s) => s.id),
        [session.id],
      );
    } finally {
      await store.close();
      await dropTestDatabase(url);
    }
  },
);
