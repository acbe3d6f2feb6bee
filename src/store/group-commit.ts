/**
 * Group commit for the embedded store. SQLite has one writer, so transactions ran one after
 * another anyway, each paying for its own `begin immediate` and `commit` (the WAL frames of every
 * page it touched: the session row, each of its indexes, the counters). Here the transactions
 * that arrive in the same turn of the event loop run one after another inside ONE database
 * transaction, each in a savepoint of its own:
 * - a transaction that fails is rolled back to its savepoint alone, and its caller gets its error;
 * - every caller is answered only after the shared commit, so an answered write is as durable as
 *   before (it survives `kill -9`); if the commit fails, every caller of the batch gets the error.
 * A batch holds at most `maxBatch` transactions; later ones wait for the next.
 *
 * The batch holds Kysely's one connection (so Kysely's own queries from elsewhere wait for the
 * commit) and drives the transaction with prepared statements on the better-sqlite3 connection:
 * begin, savepoints and commit cost no query building. The work of each transaction gets the
 * connection as a Kysely instance, and may also run prepared statements on it directly.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

interface Pending {
  work: (db: Kysely<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private running: Promise<void> | undefined;
  private readonly begin: BetterSqlite3.Statement;
  private readonly commitStatement: BetterSqlite3.Statement;
  private readonly savepoint: BetterSqlite3.Statement;
  private readonly release: BetterSqlite3.Statement;
  private readonly rollbackTo: BetterSqlite3.Statement;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly connection: BetterSqlite3.Database,
    private readonly maxBatch = 64,
  ) {
    // Takes the write lock at once: another process on the file waits (busy_timeout) rather
    // than failing in mid-transaction (sqlite.ts).
    this.begin = connection.prepare('begin immediate');
    this.commitStatement = connection.prepare('commit');
    this.savepoint = connection.prepare('savepoint grouped');
    this.release = connection.prepare('release grouped');
    this.rollbackTo = connection.prepare('rollback to grouped');
  }

  run<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    // One batch at a time: the next waits for the commit of the one before it.
    await this.running;
    this.scheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    if (batch.length === 0) return;
    // The connection may be gone (the store closed): every caller hears of it.
    this.running = this.db
      .connection()
      .execute((conn) => this.commit(conn, batch))
      .catch((error: unknown) => {
        for (const pending of batch) pending.reject(error);
      });
    await this.running;
  }

  private async commit(conn: Kysely<Database>, batch: Pending[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.begin.run();
      if (batch.length === 1) {
        // Alone: no savepoint needed; a failure rolls the transaction back.
        outcomes.push({ ok: true, value: await batch[0]!.work(conn) });
      } else {
        for (const pending of batch) {
          this.savepoint.run();
          try {
            const value = await pending.work(conn);
            this.release.run();
            outcomes.push({ ok: true, value });
          } catch (error) {
            // If even this fails, the whole transaction is lost: every caller hears of it.
            this.rollbackTo.run();
            this.release.run();
            outcomes.push({ ok: false, error });
          }
        }
      }
      this.commitStatement.run();
    } catch (error) {
      this.rollback();
      if (batch.length === 1 && outcomes.length === 0) return batch[0]!.reject(error);
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }

  private rollback(): void {
    try {
      if (this.connection.inTransaction) this.connection.exec('rollback');
    } catch {
      // SQLite has rolled the transaction back itself.
    }
  }
}
