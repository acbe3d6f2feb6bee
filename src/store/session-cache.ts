/**
 * Sessions as last read, kept in process memory by the embedded (SQLite) store: reading a
 * session is the one query behind nearly every request, and in SQLite through Kysely it costs
 * more than the rest of a GET put together (docs/benchmarks.md).
 *
 * Exact, not eventually consistent:
 * - every write of this store to a session drops that session's entry (`invalidate`), before the
 *   write commits, so no later read can see the state from before it;
 * - a read that started before such a write cannot put its older row back (`ticket`/`fill`);
 * - only reads outside transactions fill it (a transaction may still roll back);
 * - a commit by any other connection to the same file (a second process) empties the cache: the
 *   store asks SQLite (`PRAGMA data_version`) before every lookup, once per run of JavaScript
 *   (src/store/sqlite.ts).
 * Entries are deep-frozen, since every caller gets the same object.
 *
 * PostgreSQL has no such cache: there, other instances write the same rows all the time.
 */
import type { Session } from '../domain/session.js';

export class SessionCache {
  private readonly entries = new Map<string, Session>();
  private generation = 0;

  constructor(
    /** True when another connection has committed since the last call. */
    private readonly changedElsewhere: () => boolean,
    private readonly capacity = 10_000,
  ) {}

  get(id: string): Session | undefined {
    if (this.changedElsewhere()) {
      this.entries.clear();
      this.generation++;
      return undefined;
    }
    return this.entries.get(id);
  }

  /** Taken before reading a row from the database; hands the right to `fill` with it. */
  ticket(): number {
    return this.generation;
  }

  /** Keeps `session`, unless some write happened since `ticket` was taken. */
  fill(ticket: number, session: Session): void {
    if (ticket !== this.generation) return;
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(session.id, deepFreeze(session));
  }

  /** Called by every write to the session, before it commits. */
  invalidate(id: string): void {
    this.entries.delete(id);
    this.generation++;
  }

  get size(): number {
    return this.entries.size;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
