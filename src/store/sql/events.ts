/** A session's event log over Kysely, with the webhook outbox rows of its events (SPEC §11). */
import { sql } from 'kysely';
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import { outboxInsert } from '../sql-webhooks.js';
import type { EventStore } from '../store.js';
import type { OpsContext } from './context.js';
import { eventRows, numbered, toEvent } from './rows.js';

export class SqlEvents implements EventStore {
  constructor(protected readonly ctx: OpsContext) {}

  appendEvents(sessionId: string, events: PendingEvent[]): Promise<SessionEvent[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.ctx.atomically(async (ops) => {
      const row = await ops.ctx.db
        .updateTable('sessions')
        .set((eb) => ({ event_seq: eb('event_seq', '+', events.length), version: eb('version', '+', 1) }))
        .where('id', '=', sessionId)
        .returning(['event_seq', 'agent_id'])
        .executeTakeFirst();
      if (!row) return [];
      return ops.events.insertEvents(sessionId, row.agent_id, Number(row.event_seq) - events.length + 1, events);
    });
  }

  /**
   * Stores events numbered from `firstSeq`, which the caller reserved on the session row, with
   * their outbox rows (SPEC §11): one per webhook the event is for, in the same transaction.
   */
  async insertEvents(sessionId: string, agentId: string, firstSeq: number, events: PendingEvent[]): Promise<SessionEvent[]> {
    const stored = numbered(sessionId, firstSeq, events);
    await this.ctx.db.insertInto('events').values(eventRows(stored, events)).execute();
    if (events.some((e) => e.type !== 'message.chunk')) {
      const last = firstSeq + events.length - 1;
      const source = sql`(select session_id, seq, type, at, data from events where session_id = ${sessionId} and seq >= ${firstSeq} and seq <= ${last})`;
      await outboxInsert(source, agentId).execute(this.ctx.db);
    }
    return stored;
  }

  async lastEventSeq(sessionId: string): Promise<number> {
    const row = await this.ctx.db.selectFrom('sessions').select('event_seq').where('id', '=', sessionId).executeTakeFirst();
    return Number(row?.event_seq ?? 0);
  }

  async eventsAfter(sessionId: string, afterSeq: number, limit: number): Promise<SessionEvent[]> {
    const rows = await this.ctx.db
      .selectFrom('events')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }
}
