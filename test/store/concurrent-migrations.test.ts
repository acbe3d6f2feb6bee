/**
 * Several instances starting at once on an empty PostgreSQL database: one runs the migrations
 * under the advisory lock, the others wait and find nothing left to do; none fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';

const skip = process.env.TEST_POSTGRES === '1' ? false : 'PostgreSQL not reachable (set TEST_POSTGRES=1)';

test('four stores migrating one empty database at once: each migration runs exactly once', { skip }, async () => {
  const url = await createTestDatabase();
  const stores = Array.from({ length: 4 }, () => openPostgresStore(url, 2));
  try {
    const results = await Promise.all(stores.map((store) => store.migrate()));
    const ran = results.flat().sort();
    const every = Object.keys(await migrationProvider.getMigrations()).sort();
    assert.ok(every.length >= 2);
    assert.deepEqual(ran, every, `migrations run: ${JSON.stringify(results)}`);
    assert.equal(results.filter((r) => r.length > 0).length, 1, 'one store ran them all');
    // Every store works on the migrated schema afterwards.
    for (const store of stores) assert.equal(await store.countAgents(), 0);
  } finally {
    await Promise.all(stores.map((store) => store.close()));
    await dropTestDatabase(url);
  }
});
