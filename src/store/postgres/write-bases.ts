/**
 * The last state of each session this instance has read or written on PostgreSQL, with the row's
 * version: the basis of its next optimistic write (postgres/sessions.ts, `updateSession`).
 *
 * Never served to readers, only written on: a write on an out-of-date basis matches no row (the
 * version has moved since) and is decided again on the stored state, so an old entry costs a
 * round trip, never a wrong answer. An entry is only ever replaced by a newer version of the row
 * (versions only grow), so a read that raced a write cannot put the older state back.
 * Bounded: beyond `capacity` the oldest entry goes.
 */
import type { Session } from '../../domain/session.js';

export interface WriteBasis {
  session: Session;
  version: number;
}

export class WriteBases {
  private readonly entries = new Map<string, WriteBasis>();

  constructor(private readonly capacity = 10_000) {}

  get(id: string): WriteBasis | undefined {
    return this.entries.get(id);
  }

  /** The session as stored at `version`. */
  remember(session: Session, version: number): void {
    const known = this.entries.get(session.id);
    if (known !== undefined) {
      if (known.version > version) return;
      // Re-inserted, so that the sessions written most recently are the last to go.
      this.entries.delete(session.id);
    } else if (this.entries.size >= this.capacity) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(session.id, { session, version });
  }

  /** Written some other way (or gone): the next write reads the row first. */
  forget(id: string): void {
    this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}
