/**
 * The delivery worker's records, written in batches: the outcomes of attempts that end while a
 * batch is being written (or in the same turn of the event loop) go together in the next one,
 * which is one statement on PostgreSQL and one transaction on SQLite (store `settle`), and which
 * claims the next delivery of every lane it settles. At a thousand deliveries a second that is a
 * round trip and a commit for several of them instead of two round trips and a commit for each.
 * One batch is written at a time; a lane has one attempt in flight, so no batch holds a lane twice.
 */
import type { AttemptRecord, Settlement } from '../store/store.js';

/** The records of one batch at most; later ones wait for the next. */
const MAX_BATCH = 64;

interface Waiting {
  record: AttemptRecord;
  resolve: (settlement: Settlement) => void;
  reject: (error: unknown) => void;
}

export type Settle = (records: readonly AttemptRecord[]) => Promise<Settlement[]>;

export class SettleBatches {
  private queue: Waiting[] = [];
  private writing: Promise<void> | undefined;
  private scheduled = false;

  constructor(private readonly settle: Settle) {}

  /** Records the attempt with the next batch; answers once that batch is committed. */
  add(record: AttemptRecord): Promise<Settlement> {
    return new Promise<Settlement>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // Outcomes of the same turn (answers that arrived together) join one batch.
    setImmediate(() => {
      this.scheduled = false;
      this.writing = this.write().finally(() => {
        this.writing = undefined;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async write(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    try {
      const settled = await this.settle(batch.map((w) => w.record));
      batch.forEach((waiting, i) => waiting.resolve(settled[i]!));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
