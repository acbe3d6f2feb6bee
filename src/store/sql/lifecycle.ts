/**
 * The scheduler's queries and writes over Kysely, the same SQL for both dialects; PostgreSQL
 * writes a batch of emissions in one statement instead (postgres/lifecycle.ts).
 */
import type { Selectable } from 'kysely';
import type { SessionEvent } from '../../domain/events.js';
import type { LifecycleFlags } from '../../domain/schedule.js';
import type { SessionsTable } from '../schema.js';
import type { LifecycleEmission, LifecycleState, LifecycleStore } from '../store.js';
import type { OpsContext } from './context.js';
import { moveCounters, type CountChange } from './counters.js';
import { toSession } from './rows.js';
import type { SqlSessions } from './sessions.js';

export const flagValue = (flag: boolean): number => (flag ? 1 : 0);

/** What an expiry flag going from `before` to `after` does to the count of unexpired sessions. */
export const unexpiredChange = (before: LifecycleFlags, after: LifecycleFlags): number =>
  flagValue(before.expiryEmitted) - flagValue(after.expiryEmitted);

const toLifecycleState = (row: Selectable<SessionsTable>): LifecycleState => ({
  session: toSession(row),
  flags: { warned: row.warned === 1, expiryEmitted: row.expiry_emitted === 1 },
});

export class SqlLifecycle implements LifecycleStore {
  constructor(
    protected readonly ctx: OpsContext,
    private readonly sessions: SqlSessions,
  ) {}

  async getLifecycle(id: string): Promise<LifecycleState | undefined> {
    const row = await this.sessions.readSessionRow(id);
    return row && toLifecycleState(row);
  }

  setLifecycleFlags(id: string, flags: LifecycleFlags): Promise<void> {
    const emitted = flags.expiryEmitted ? 1 : 0;
    return this.ctx.atomically(async (ops) => {
      const db = ops.ctx.db;
      await db
        .updateTable('sessions')
        .set((eb) => ({ warned: flags.warned ? 1 : 0, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .execute();
      // The expiry flag only where it changes, so that the counter moves exactly once.
      const changed = await db
        .updateTable('sessions')
        .set((eb) => ({ expiry_emitted: emitted, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('expiry_emitted', '<>', emitted)
        .returning('agent_id')
        .executeTakeFirst();
      if (changed) await moveCounters(db, this.ctx.dialect, [{ agentId: changed.agent_id, sessions: 0, unexpired: emitted ? -1 : 1 }]);
    });
  }

  /**
   * One statement, two seeks (sessions_expiry_due, sessions_warning_due). On PostgreSQL inside a
   * transaction each seek locks its rows `FOR UPDATE SKIP LOCKED` below its limit, so instances
   * looking at once each take rows of their own; a locked row is returned as last committed,
   * its flags re-read under the lock. SQLite's single writer needs no lock.
   */
  async dueLifecycle(now: number, limit: number): Promise<LifecycleState[]> {
    const lock = this.ctx.inTransaction && this.ctx.dialect === 'postgres';
    /** Sessions whose `flag` is unset and whose `time` has come, soonest first. */
    const due = (flag: 'expiry_emitted' | 'warned', time: 'expires_at' | 'warning_at') => {
      const q = this.ctx.db.selectFrom('sessions').selectAll().where(flag, '=', 0).where(time, '<=', now).orderBy(time).limit(limit);
      return lock ? q.forUpdate().skipLocked() : q;
    };
    const rows = await this.ctx.db
      .with('x', () => due('expiry_emitted', 'expires_at'))
      .with('w', () => due('warned', 'warning_at'))
      .selectFrom('x')
      .selectAll()
      .unionAll((eb) => eb.selectFrom('w').selectAll())
      .execute();
    const byId = new Map<string, LifecycleState>();
    for (const row of rows) if (!byId.has(row.id)) byId.set(row.id, toLifecycleState(row));
    return [...byId.values()];
  }

  /**
   * One update per session (SQLite runs each without a round trip): the flags only where they
   * are still as read, the event numbers reserved; then the events with their outbox rows, and
   * the counters once for the batch.
   */
  emitLifecycle(emissions: LifecycleEmission[]): Promise<SessionEvent[]> {
    if (emissions.length === 0) return Promise.resolve([]);
    return this.ctx.atomically(async (ops) => {
      const stored: SessionEvent[] = [];
      const changes: CountChange[] = [];
      for (const { sessionId, events, before, after } of emissions) {
        const row = await ops.ctx.db
          .updateTable('sessions')
          .set((eb) => ({
            warned: flagValue(after.warned),
            expiry_emitted: flagValue(after.expiryEmitted),
            event_seq: eb('event_seq', '+', events.length),
            version: eb('version', '+', 1),
          }))
          .where('id', '=', sessionId)
          .where('warned', '=', flagValue(before.warned))
          .where('expiry_emitted', '=', flagValue(before.expiryEmitted))
          .returning(['event_seq', 'agent_id'])
          .executeTakeFirst();
        if (!row) continue;
        const unexpired = unexpiredChange(before, after);
        if (unexpired !== 0) changes.push({ agentId: row.agent_id, sessions: 0, unexpired });
        if (events.length > 0)
          stored.push(...(await ops.events.insertEvents(sessionId, row.agent_id, Number(row.event_seq) - events.length + 1, events)));
      }
      await moveCounters(ops.ctx.db, this.ctx.dialect, changes);
      return stored;
    });
  }

  async nextLifecycleMoment(): Promise<number | undefined> {
    // Two index seeks (sessions_warning_due, sessions_expiry_due), not a scan: the scheduler
    // asks this on every poll, however many sessions there are.
    const db = this.ctx.db;
    const [warning, expiry] = await Promise.all([
      db.selectFrom('sessions').select('warning_at as at').where('warned', '=', 0).orderBy('warning_at').limit(1).executeTakeFirst(),
      db
        .selectFrom('sessions')
        .select('expires_at as at')
        .where('expiry_emitted', '=', 0)
        .orderBy('expires_at')
        .limit(1)
        .executeTakeFirst(),
    ]);
    const moments = [warning?.at, expiry?.at].filter((v) => v !== null && v !== undefined).map(Number);
    return moments.length ? Math.min(...moments) : undefined;
  }
}
