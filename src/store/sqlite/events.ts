/** The event log on SQLite: the event inserts, the sequence numbers and the outbox rows prepared. */
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import { sql } from 'kysely';
import type { OpsContext } from '../sql/context.js';
import { SqlEvents } from '../sql/events.js';
import { eventRows, numbered } from '../sql/rows.js';
import { outboxInsert } from '../sql-webhooks.js';
import { settled, type SqliteStatements } from './statements.js';

const INSERT = 'insert into events (session_id, seq, type, at, data) values (@session_id, @seq, @type, @at, @data)';
const RESERVE = 'update sessions set event_seq = event_seq + ? where id = ? returning event_seq, agent_id';

export class SqliteEvents extends SqlEvents {
  constructor(
    ctx: OpsContext,
    private readonly statements: SqliteStatements,
  ) {
    super(ctx);
  }

  override appendEvents(sessionId: string, events: PendingEvent[]): Promise<SessionEvent[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.ctx.atomically((ops) => settled(() => {
      const row = this.statements.get(RESERVE).get(events.length, sessionId) as { event_seq: number; agent_id: string } | undefined;
      if (!row) return [];
      return ops.events.insertEvents(sessionId, row.agent_id, Number(row.event_seq) - events.length + 1, events);
    }));
  }

  override insertEvents(sessionId: string, agentId: string, firstSeq: number, events: PendingEvent[]): Promise<SessionEvent[]> {
    return settled(() => this.insertNow(sessionId, agentId, firstSeq, events));
  }

  private insertNow(sessionId: string, agentId: string, firstSeq: number, events: PendingEvent[]): SessionEvent[] {
    const stored = numbered(sessionId, firstSeq, events);
    const insert = this.statements.get(INSERT);
    for (const row of eventRows(stored, events)) insert.run(row);
    if (events.some((e) => e.type !== 'message.chunk')) {
      // The outbox's SQL is the webhooks' (sql-webhooks.ts); its text is the same on every call.
      const last = firstSeq + events.length - 1;
      const source = sql`(select session_id, seq, type, at, data from events where session_id = ${sessionId} and seq >= ${firstSeq} and seq <= ${last})`;
      const compiled = outboxInsert(source, agentId).compile(this.ctx.db);
      this.statements.get(compiled.sql).run(...compiled.parameters);
    }
    return stored;
  }
}
