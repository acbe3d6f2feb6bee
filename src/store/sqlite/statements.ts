/**
 * The embedded store's hot statements, prepared once on the better-sqlite3 connection and run
 * synchronously, without Kysely's query building and promise chain.
 *
 * They share the connection with Kysely. When one may run directly:
 * - inside a transaction of the store (a group commit holds the connection: these statements
 *   are part of it);
 * - outside one, when no transaction is open on the connection. While a batch is open and
 *   waiting for something else (its work may await), a direct read would see its uncommitted
 *   rows, so the read then goes through Kysely, which waits for the commit.
 * Writes always run inside a transaction (the callers go through `atomically`).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { OpsContext } from '../sql/context.js';

export class SqliteStatements {
  private readonly prepared = new Map<string, BetterSqlite3.Statement>();

  constructor(readonly connection: BetterSqlite3.Database) {}

  /** The statement of this SQL text, prepared on first use. */
  get(text: string): BetterSqlite3.Statement {
    let statement = this.prepared.get(text);
    if (statement === undefined) {
      statement = this.connection.prepare(text);
      this.prepared.set(text, statement);
    }
    return statement;
  }

  /** Whether a statement of `ctx` may run on the connection now (see above). */
  direct(ctx: OpsContext): boolean {
    return ctx.inTransaction || !this.connection.inTransaction;
  }
}

/**
 * Runs synchronous statements as a promise: a statement that throws (a constraint, a closed
 * connection) rejects it, as Kysely's queries do, instead of throwing at the caller.
 */
export async function settled<T>(work: () => T | Promise<T>): Promise<T> {
  return await work();
}
