/** PostgreSQL set-up: a pg connection pool. */
import { ApiKeyCache } from './key-cache.js';
import { SqlStore } from './sql-store.js';
import { postgresParts } from './postgres/parts.js';
import { openPostgresDatabase } from './postgres/pool.js';

/** How long an instance may use a key it read without reading it again (revocation delay). */
export const KEY_CACHE_MAX_AGE_MS = 500;

export function openPostgresStore(url: string, poolSize = 10, keyCache = new ApiKeyCache({ maxAgeMs: KEY_CACHE_MAX_AGE_MS })): SqlStore {
  const { pool, db } = openPostgresDatabase(url, poolSize);
  return new SqlStore(db, {
    dialect: 'postgres',
    keyCache,
    parts: postgresParts(pool),
    runTransaction: (work) => db.transaction().execute(work),
  });
}
