/** The event log on PostgreSQL: events and their outbox rows in one statement. */
import { sql } from 'kysely';
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import { outboxInsert } from '../sql-webhooks.js';
import type { OpsContext } from '../sql/context.js';
import { SqlEvents } from '../sql/events.js';
import { eventsInsert, numbered } from '../sql/rows.js';
import type { WriteBases } from './write-bases.js';

export class PostgresEvents extends SqlEvents {
  constructor(
    ctx: OpsContext,
    private readonly bases: WriteBases,
  ) {
    super(ctx);
  }

  override appendEvents(sessionId: string, events: PendingEvent[]): Promise<SessionEvent[]> {
    // The append moves the row's version: the state this instance kept as a basis is out of date.
    if (events.length > 0) this.bases.forget(sessionId);
    return super.appendEvents(sessionId, events);
  }

  override async insertEvents(sessionId: string, agentId: string, firstSeq: number, events: PendingEvent[]): Promise<SessionEvent[]> {
    if (!events.some((e) => e.type !== 'message.chunk')) return super.insertEvents(sessionId, agentId, firstSeq, events);
    const stored = numbered(sessionId, firstSeq, events);
    // One round trip: the events, and the outbox rows selected from what was inserted.
    await sql`with e as (${eventsInsert(stored, events)}) ${outboxInsert(sql`e`, agentId)}`.execute(this.ctx.db);
    return stored;
  }
}
