/**
 * The scheduler's writes on PostgreSQL: a whole batch of emissions in one statement, one round
 * trip whatever its size, with the same SQL text for every batch (the values travel as arrays).
 */
import { sql } from 'kysely';
import type { SessionEvent } from '../../domain/events.js';
import { outboxInsert } from '../sql-webhooks.js';
import { COUNTER_SHARDS } from '../sql/counters.js';
import { flagValue, SqlLifecycle, unexpiredChange } from '../sql/lifecycle.js';
import { numbered } from '../sql/rows.js';
import type { LifecycleEmission } from '../store.js';

export class PostgresLifecycle extends SqlLifecycle {
  /**
   * `u` sets the flags of the sessions whose flags are still as read and reserves their event
   * numbers; `e` inserts the events numbered from what `u` returned, `o` their outbox rows (each
   * event for its own session's agent); `c` moves the counters by what the expiry flags changed,
   * per scope, the shard rows taken in scope order (as sql/counters.ts does, so no deadlock).
   */
  override async emitLifecycle(emissions: LifecycleEmission[]): Promise<SessionEvent[]> {
    if (emissions.length === 0) return [];
    const events = emissions.flatMap(({ sessionId, events }) => events.map((event, i) => ({ sessionId, i, event })));
    const shard = Math.floor(Math.random() * COUNTER_SHARDS);
    const { rows } = await sql<{ id: string; event_seq: number; added: number }>`
      with v as (
        select * from unnest(
          ${emissions.map((m) => m.sessionId)}::text[],
          ${emissions.map((m) => flagValue(m.before.warned))}::int[],
          ${emissions.map((m) => flagValue(m.before.expiryEmitted))}::int[],
          ${emissions.map((m) => flagValue(m.after.warned))}::int[],
          ${emissions.map((m) => flagValue(m.after.expiryEmitted))}::int[],
          ${emissions.map((m) => unexpiredChange(m.before, m.after))}::int[],
          ${emissions.map((m) => m.events.length)}::int[]
        ) as v(id, warned_before, expiry_emitted_before, warned, expiry_emitted, unexpired, added)
      ),
      u as (
        update sessions s set
          warned = v.warned,
          expiry_emitted = v.expiry_emitted,
          event_seq = s.event_seq + v.added,
          version = s.version + 1
        from v
        where s.id = v.id and s.warned = v.warned_before and s.expiry_emitted = v.expiry_emitted_before
        returning s.id, s.agent_id, s.event_seq, v.added, v.unexpired
      ),
      n as (
        select * from unnest(
          ${events.map((e) => e.sessionId)}::text[],
          ${events.map((e) => e.i)}::int[],
          ${events.map((e) => e.event.type)}::text[],
          ${events.map((e) => e.event.at)}::bigint[],
          ${events.map((e) => JSON.stringify(e.event.data))}::text[]
        ) as n(session_id, i, type, at, data)
      ),
      e as (
        insert into events (session_id, seq, type, at, data)
        select n.session_id, u.event_seq - u.added + 1 + n.i, n.type, n.at, n.data from n join u on u.id = n.session_id
        returning session_id, seq, type, at, data
      ),
      o as (${outboxInsert(sql`(select e.*, u.agent_id from e join u on u.id = e.session_id)`, sql`e.agent_id`)}),
      c as (
        insert into session_counts (scope, shard, sessions, unexpired)
        select scope, ${shard}::int, 0, sum(unexpired) from (
          select '' as scope, unexpired from u union all select 'agent:' || agent_id, unexpired from u
        ) m
        group by scope having sum(unexpired) <> 0
        order by scope
        on conflict (scope, shard) do update set unexpired = session_counts.unexpired + excluded.unexpired
      )
      select id, event_seq, added from u`.execute(this.ctx.db);
    const firstSeq = new Map(rows.map((r) => [r.id, Number(r.event_seq) - Number(r.added) + 1]));
    return emissions.flatMap(({ sessionId, events }) => {
      const first = firstSeq.get(sessionId);
      return first === undefined ? [] : numbered(sessionId, first, events);
    });
  }
}
