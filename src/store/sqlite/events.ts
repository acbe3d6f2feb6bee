/** The event log on SQLite: the event inserts, the sequence numbers and the outbox rows prepared. */
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import { sql } from 'kysely';
import type { OpsContext } from '../sql/context.js';
import { SqlEvents } from '../sql/events.js';
import { eventRows, numbered } from '../sql/rows.js';
import { outboxInsert } from '../sql-webhooks.js';
import { settled, type SqliteStatements } from './statements.js';

const INSERT = 'insert into events (session_id, seq, type, at, data) values (@session_id, @seq, @type, @at, @data)';
const RESERVE = 'update sessions set event_seq = event_seq + ?, version = version + 1 where id = ? returning event_seq, agent_id';

interface OutboxValues {
  sessionId: string;
  firstSeq: number;
  last: number;
  agentId: string;
}

/**
 * The outbox insert (sql-webhooks.ts) of the events just stored, compiled once: its SQL text is
 * the same on every call, and each value's place among the parameters is found by compiling it
 * with markers.
 */
function compileOutbox(ctx: OpsContext): { sql: string; parameters: (values: OutboxValues) => unknown[] } {
  const markers: Record<keyof OutboxValues, string> = { sessionId: '\u0000s', firstSeq: '\u0000f', last: '\u0000l', agentId: '\u0000a' };
  const source = sql`(select session_id, seq, type, at, data from events where session_id = ${markers.sessionId} and seq >= ${markers.firstSeq} and seq <= ${markers.last})`;
  const compiled = outboxInsert(source, markers.agentId).compile(ctx.db);
  const names = Object.keys(markers) as Array<keyof OutboxValues>;
  const places = compiled.parameters.map((p) => {
    const name = names.find((n) => markers[n] === p);
    if (name === undefined) throw new Error('the outbox insert has a parameter of its own');
    return name;
  });
  return { sql: compiled.sql, parameters: (values) => places.map((name) => values[name]) };
}

/** The same for every SQLite store: it depends on the dialect's compiler only. */
let compiledOutbox: ReturnType<typeof compileOutbox> | undefined;

export class SqliteEvents extends SqlEvents {
  constructor(
    ctx: OpsContext,
    private readonly statements: SqliteStatements,
  ) {
    super(ctx);
  }

  override appendEvents(sessionId: string, events: PendingEvent[]): Promise<SessionEvent[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.ctx.atomically((ops) =>
      settled(() => {
        const row = this.statements.get(RESERVE).get(events.length, sessionId) as { event_seq: number; agent_id: string } | undefined;
        if (!row) return [];
        return ops.events.insertEvents(sessionId, row.agent_id, Number(row.event_seq) - events.length + 1, events);
      }),
    );
  }

  override insertEvents(sessionId: string, agentId: string, firstSeq: number, events: PendingEvent[]): Promise<SessionEvent[]> {
    return settled(() => this.insertNow(sessionId, agentId, firstSeq, events));
  }

  private insertNow(sessionId: string, agentId: string, firstSeq: number, events: PendingEvent[]): SessionEvent[] {
    const stored = numbered(sessionId, firstSeq, events);
    const insert = this.statements.get(INSERT);
    for (const row of eventRows(stored, events)) insert.run(row);
    if (events.some((e) => e.type !== 'message.chunk')) {
      const outbox = (compiledOutbox ??= compileOutbox(this.ctx));
      this.statements.get(outbox.sql).run(...outbox.parameters({ sessionId, firstSeq, last: firstSeq + events.length - 1, agentId }));
    }
    return stored;
  }
}
