/**
 * Session rows on PostgreSQL: a create and a save each in one statement (one round trip), and a
 * session read outside a transaction as a named prepared statement on the pool.
 */
import { createHash } from 'node:crypto';
import { sql, type CompiledQuery, type Selectable } from 'kysely';
import type pg from 'pg';
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import type { Session } from '../../domain/session.js';
import type { SessionsTable } from '../schema.js';
import { outboxInsert } from '../sql-webhooks.js';
import type { OpsContext } from '../sql/context.js';
import { COUNTER_SHARDS } from '../sql/counters.js';
import { eventsInsert, numbered, sessionRow, sessionStateColumns } from '../sql/rows.js';
import { SqlSessions, type SaveOptions } from '../sql/sessions.js';

export class PostgresSessions extends SqlSessions {
  constructor(
    ctx: OpsContext,
    private readonly pool: pg.Pool,
  ) {
    super(ctx);
  }

  /**
   * The list's reads as named prepared statements, one per shape of SQL: each pooled connection
   * parses and plans a shape once instead of on every call (planning the counts, six subqueries
   * over a table of nine indexes, costs more than running them).
   */
  protected override async read<R>(query: CompiledQuery<R>): Promise<R[]> {
    if (this.ctx.inTransaction) return super.read(query);
    const name = `list_${createHash('sha1').update(query.sql).digest('base64url')}`;
    const result = await this.pool.query({ name, text: query.sql, values: [...query.parameters] });
    return result.rows as R[];
  }

  override async readSessionRow(id: string): Promise<Selectable<SessionsTable> | undefined> {
    // In a transaction the row is locked (for update), on the transaction's connection.
    if (this.ctx.inTransaction) return super.readSessionRow(id);
    const result = await this.pool.query<Selectable<SessionsTable>>({
      name: 'session_by_id',
      text: 'select * from sessions where id = $1',
      values: [id],
    });
    return result.rows[0];
  }

  override async insertSession(session: Session, tokenHash?: string, events: PendingEvent[] = []): Promise<SessionEvent[]> {
    // One statement, one round trip: the row, its counters (shards locked in scope order), its
    // first events and their outbox rows.
    const shard = Math.floor(Math.random() * COUNTER_SHARDS);
    const counters = sql`insert into session_counts (scope, shard, sessions, unexpired)
      select scope, ${shard}, 1, 1 from (select '' as scope from s union all select 'agent:' || agent_id from s) c
      order by scope
      on conflict (scope, shard) do update set
        sessions = session_counts.sessions + excluded.sessions,
        unexpired = session_counts.unexpired + excluded.unexpired`;
    const row = this.ctx.db
      .insertInto('sessions')
      .values(sessionRow(session, tokenHash, events.length))
      .returning('agent_id');
    if (events.length === 0) {
      await sql`with s as (${row}) ${counters}`.execute(this.ctx.db);
      return [];
    }
    const stored = numbered(session.id, 1, events);
    await sql`with s as (${row}), c as (${counters}), e as (${eventsInsert(stored, events)})
      ${outboxInsert(sql`e`, session.agentId)}`.execute(this.ctx.db);
    return stored;
  }

  /**
   * The new state, its events numbered after the session's last one and their outbox rows, in
   * one statement: the update reserves the numbers, the insert takes them from its result.
   */
  override async saveSession(session: Session, events: PendingEvent[], options: SaveOptions = {}): Promise<SessionEvent[]> {
    const n = events.length;
    const update = this.ctx.db
      .updateTable('sessions')
      .set((eb) => ({
        ...sessionStateColumns(session),
        ...(options.rearmWarning ? { warned: 0 } : {}),
        ...(options.settings ? { metadata: JSON.stringify(session.metadata), reply_policy: session.replyPolicy } : {}),
        event_seq: eb('event_seq', '+', n),
        version: eb('version', '+', 1),
      }))
      .where('id', '=', session.id)
      .returning('event_seq');
    if (n === 0) {
      await update.execute();
      return [];
    }
    const values = events.map((e, i) => sql`(${i}::int, ${e.type}::text, ${e.at}::bigint, ${JSON.stringify(e.data)}::text)`);
    const { rows } = await sql<{ event_seq: number }>`with u as (${update}),
      e as (insert into events (session_id, seq, type, at, data)
        select ${session.id}, u.event_seq - ${n}::int + 1 + v.i, v.type, v.at, v.data
        from u, (values ${sql.join(values)}) as v(i, type, at, data)
        returning session_id, seq, type, at, data),
      o as (${outboxInsert(sql`e`, session.agentId)})
      select event_seq from u`.execute(this.ctx.db);
    const row = rows[0];
    if (!row) return [];
    return numbered(session.id, Number(row.event_seq) - n + 1, events);
  }
}
