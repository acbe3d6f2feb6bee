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
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

interface Pending {
  work: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxBatch = 64,
  ) {}

  run<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
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
    this.running = this.commit(batch);
    await this.running;
  }

  private async commit(batch: Pending[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        if (batch.length === 1) {
          // Alone: no savepoint needed; a failure rolls the transaction back.
          outcomes.push({ ok: true, value: await batch[0]!.work(trx) });
          return;
        }
        for (const pending of batch) {
          await sql`savepoint grouped`.execute(trx);
          try {
            const value = await pending.work(trx);
            await sql`release grouped`.execute(trx);
            outcomes.push({ ok: true, value });
          } catch (error) {
            // If even this fails, the whole transaction is lost: every caller hears of it.
            await sql`rollback to grouped`.execute(trx);
            await sql`release grouped`.execute(trx);
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
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
}
