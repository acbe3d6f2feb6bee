/**
 * PostgreSQL going away under a transaction that holds a connection between two statements (a
 * fast shutdown, a restart, an administrator terminating the backend): the process lives on, the
 * transaction fails as "a backing service is away" (503 to a client), and the next operation gets
 * a fresh connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { isServiceUnavailable } from '../../src/store/unavailable.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';
import { eventually } from '../support/wait.js';
import { makeSession } from './fixtures.js';

const skip = process.env.TEST_POSTGRES === '0' ? 'PostgreSQL not reachable' : undefined;

describe('PostgreSQL connection lost inside a transaction', { skip }, () => {
  let url: string;
  let store: SqlStore;
  let admin: pg.Client;

  before(async () => {
    url = await createTestDatabase();
    store = openPostgresStore(url, 2);
    await store.migrate();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });

  after(async () => {
    await admin?.end();
    await store?.close();
    if (url) await dropTestDatabase(url);
  });

  test('the backend terminated between two statements: the transaction fails as unavailable, nothing is stored, the store goes on', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    const session = makeSession({ id: 'lost-connection' });
    try {
      const failure = await store
        .transaction(async (tx) => {
          await tx.getSession(session.id);
          // The one backend idle in a transaction on this database is this transaction's.
          const idle = await admin.query<{ pid: number }>(
            `select pid from pg_stat_activity where datname = current_database() and state = 'idle in transaction'`,
          );
          assert.equal(idle.rows.length, 1);
          const pid = idle.rows[0]!.pid;
          await admin.query('select pg_terminate_backend($1)', [pid]);
          // The termination reaches the client while it sits checked out with no statement running.
          await eventually(
            async () => (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount === 0,
            `backend ${pid} gone`,
          );
          await new Promise((resolve) => setTimeout(resolve, 50));
          await tx.insertSession(session);
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      assert.ok(failure, 'the transaction failed');
      assert.equal(
        isServiceUnavailable(failure),
        true,
        `classified as unavailable: ${failure instanceof Error ? failure.message : typeof failure}`,
      );
      assert.deepEqual(uncaught, [], 'no uncaught error');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
    assert.equal(await store.getSession(session.id), undefined);
    await store.insertSession(session);
    assert.equal((await store.getSession(session.id))?.id, session.id);
  });
});
