/** The event log on PostgreSQL: events and their outbox rows in one statement. */
import { sql } from 'kysely';
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import { outboxInsert } from '../sql-webhooks.js';
import { SqlEvents } from '../sql/events.js';
import { eventsInsert, numbered } from '../sql/rows.js';

export class PostgresEvents extends SqlEvents {
  override async insertEvents(sessionId: string, agentId: string, firstSeq: number, events: PendingEvent[]): Promise<SessionEvent[]> {
    if (!events.some((e) => e.type !== 'message.chunk')) return super.insertEvents(sessionId, agentId, firstSeq, events);
    const stored = numbered(sessionId, firstSeq, events);
    // One round trip: the events, and the outbox rows selected from what was inserted.
    await sql`with e as (${eventsInsert(stored, events)}) ${outboxInsert(sql`e`, agentId)}`.execute(this.ctx.db);
    return stored;
  }
}
