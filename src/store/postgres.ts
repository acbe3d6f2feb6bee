/** PostgreSQL set-up: a pg connection pool. */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { ApiKeyCache } from './key-cache.js';
import { SqlStore } from './sql-store.js';
import { postgresParts } from './postgres/parts.js';

/** How long an instance may use a key it read without reading it again (revocation delay). */
export const KEY_CACHE_MAX_AGE_MS = 500;

// Times are stored as bigint (int8); JavaScript numbers hold epoch milliseconds exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

export function openPostgresStore(url: string, poolSize = 10, keyCache = new ApiKeyCache({ maxAgeMs: KEY_CACHE_MAX_AGE_MS })): SqlStore {
  // With the database away, a request fails within seconds (503) instead of hanging: connecting
  // and every statement are bounded, and TCP keep-alive notices a peer that vanished.
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 3000,
    statement_timeout: 15_000,
    query_timeout: 20_000,
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new SqlStore(db, {
    dialect: 'postgres',
    keyCache,
    parts: postgresParts(pool),
    runTransaction: (work) => db.transaction().execute(work),
  });
}
