/** A Kysely database over a pg connection pool, as every PostgreSQL user in the server opens it. */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.js';

// Times are stored as bigint (int8); JavaScript numbers hold epoch milliseconds exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

/** The pool too, for the hot statements that bypass the query builder (postgres/parts.ts). */
export function openPostgresDatabase(url: string, max: number): { pool: pg.Pool; db: Kysely<Database> } {
  // With the database away, a request fails within seconds (503) instead of hanging: connecting
  // and every statement are bounded, and TCP keep-alive notices a peer that vanished.
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 3000,
    statement_timeout: 15_000,
    query_timeout: 20_000,
    keepAlive: true,
  });
  // A client losing its connection must not crash the process. The pool listens on the clients
  // it holds idle; a client checked out (a transaction between two statements, say) has no
  // listener of its own, and an 'error' event without one throws. The statement that uses it
  // next fails instead (503), and the pool drops the client when it is released.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return { pool, db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
}
