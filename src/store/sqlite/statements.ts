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
  private readonly raw = new Map<string, { statement: BetterSqlite3.Statement; columns: string[] }>();

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

  /**
   * The rows of a query as objects keyed by column name. better-sqlite3 builds such objects
   * through V8's slow path; taking each row as an array and naming its values here costs about
   * 40 % less (docs/benchmarks.md), which is most of a history page's read.
   */
  rows<T>(text: string, ...params: unknown[]): T[] {
    let entry = this.raw.get(text);
    if (entry === undefined) {
      const statement = this.connection.prepare(text).raw(true);
      entry = { statement, columns: statement.columns().map((c) => c.name) };
      this.raw.set(text, entry);
    }
    const { statement, columns } = entry;
    return (statement.all(...params) as unknown[][]).map((values) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
      return row as T;
    });
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
