/** The scheduler's queries and writes over Kysely, the same SQL for both dialects. */
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import type { LifecycleFlags } from '../../domain/schedule.js';
import type { Session } from '../../domain/session.js';
import type { LifecycleStore } from '../store.js';
import type { OpsContext } from './context.js';
import { moveCounters } from './counters.js';
import { toSession } from './rows.js';
import type { SqlSessions } from './sessions.js';

export class SqlLifecycle implements LifecycleStore {
  constructor(
    protected readonly ctx: OpsContext,
    private readonly sessions: SqlSessions,
  ) {}

  async getLifecycle(id: string): Promise<{ session: Session; flags: LifecycleFlags } | undefined> {
    const row = await this.sessions.readSessionRow(id);
    return row && { session: toSession(row), flags: { warned: row.warned === 1, expiryEmitted: row.expiry_emitted === 1 } };
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

  emitLifecycle(id: string, events: PendingEvent[], before: LifecycleFlags, after: LifecycleFlags): Promise<SessionEvent[]> {
    return this.ctx.atomically(async (ops) => {
      const row = await ops.ctx.db
        .updateTable('sessions')
        .set((eb) => ({
          warned: after.warned ? 1 : 0,
          expiry_emitted: after.expiryEmitted ? 1 : 0,
          event_seq: eb('event_seq', '+', events.length),
          version: eb('version', '+', 1),
        }))
        .where('id', '=', id)
        .returning(['event_seq', 'agent_id'])
        .executeTakeFirst();
      if (!row) return [];
      if (before.expiryEmitted !== after.expiryEmitted) {
        await moveCounters(ops.ctx.db, this.ctx.dialect, [{ agentId: row.agent_id, sessions: 0, unexpired: after.expiryEmitted ? -1 : 1 }]);
      }
      if (events.length === 0) return [];
      return ops.events.insertEvents(id, row.agent_id, Number(row.event_seq) - events.length + 1, events);
    });
  }

  async dueLifecycleSessions(now: number, limit: number): Promise<string[]> {
    const warnings = await this.ctx.db
      .selectFrom('sessions')
      .select('id')
      .where('warned', '=', 0)
      .where('warning_at', '<=', now)
      .orderBy('warning_at')
      .limit(limit)
      .execute();
    const expiries = await this.ctx.db
      .selectFrom('sessions')
      .select('id')
      .where('expiry_emitted', '=', 0)
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return [...new Set([...expiries, ...warnings].map((r) => r.id))];
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
