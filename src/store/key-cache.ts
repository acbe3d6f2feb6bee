/**
 * API keys as last read, by digest: every request with a key looked its key up in the store.
 * Kept exact enough that a revoked key stops working in time on every instance:
 * - every write of this store to a key (insert, touch, delete) empties the cache before it
 *   commits, and a read that started before such a write cannot put its older row back;
 * - only reads outside transactions fill it;
 * - embedded (SQLite): a commit by any other connection to the same file (`npm run keys revoke`,
 *   a second process) empties it, as for the session cache (`PRAGMA data_version`);
 * - scaled (PostgreSQL): other instances cannot tell this one, so an entry is used for at most
 *   `maxAgeMs` (500 ms): a key revoked anywhere is refused everywhere within that time.
 * A key's expiry needs no invalidation: the authenticator compares `expiresAt` with the clock on
 * every request. Unknown digests are not remembered, so a new key works at once.
 */
import type { ApiKeyRecord } from './store.js';

export interface ApiKeyCacheOptions {
  /** True when another connection has committed since the last call (SQLite). */
  changedElsewhere?: () => boolean;
  /** Longest an entry is used without reading the store again (PostgreSQL). */
  maxAgeMs?: number;
  capacity?: number;
  /** Monotonic milliseconds; replaceable for tests. */
  now?: () => number;
}

export class ApiKeyCache {
  private readonly entries = new Map<string, { record: ApiKeyRecord; at: number }>();
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly options: ApiKeyCacheOptions = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  get(keyHash: string): ApiKeyRecord | undefined {
    if (this.options.changedElsewhere?.()) {
      this.invalidate();
      return undefined;
    }
    const entry = this.entries.get(keyHash);
    if (entry === undefined) return undefined;
    if (this.options.maxAgeMs !== undefined && this.now() - entry.at >= this.options.maxAgeMs) {
      this.entries.delete(keyHash);
      return undefined;
    }
    return entry.record;
  }

  /** Taken before reading a row from the database; hands the right to `fill` with it. */
  ticket(): number {
    return this.generation;
  }

  /** Keeps `record`, unless some key was written since `ticket` was taken. */
  fill(ticket: number, record: ApiKeyRecord): void {
    if (ticket !== this.generation) return;
    if (this.entries.size >= (this.options.capacity ?? 1000)) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(record.keyHash, {
      record: Object.freeze({ ...record, scopes: Object.freeze([...record.scopes]) as ApiKeyRecord['scopes'] }),
      at: this.now(),
    });
  }

  /** Called by every write to any key, before it commits. */
  invalidate(): void {
    this.entries.clear();
    this.generation++;
  }

  get size(): number {
    return this.entries.size;
  }
}
