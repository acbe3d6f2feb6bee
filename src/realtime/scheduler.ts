/**
 * Emits `session.warning` and `session.expired` from the stored `expiresAt` values. Each
 * emission is one transaction that re-reads the session (locked on PostgreSQL), stores the
 * event and sets the session's flag, so an event is stored exactly once even when several
 * instances tick at the same moment; delivery reads what was stored. Anything that fell due
 * while the server was down is found by the first tick after start.
 */
import type { Clock } from '../clock.js';
import type { PendingEvent, SessionEvent } from '../domain/events.js';
import { dueLifecycleEvents } from '../domain/schedule.js';
import { toSessionInfo } from '../domain/session.js';
import type { Store } from '../store/store.js';
import type { Fanout } from './fanout.js';

export interface SchedulerOptions {
  /** Longest wait between two looks at the store; events are emitted at most this late. */
  pollMs: number;
  batchSize: number;
  /** Emissions in flight at once (8 unless given). */
  concurrency?: number;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<SessionEvent[]> | undefined;
  private stopped = true;

  constructor(
    private readonly store: Store,
    private readonly fanout: Fanout,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
    private readonly options: SchedulerOptions = { pollMs: 500, batchSize: 200 },
  ) {}

  /** Emits everything due now; returns the events emitted. Overlapping calls share one run. */
  tick(): Promise<SessionEvent[]> {
    this.ticking ??= this.run().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking?.catch(() => {});
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.step(), delayMs);
    this.timer.unref();
  }

  /** One tick, then the next one scheduled: at the next due moment, at most `pollMs` away. */
  private async step(): Promise<void> {
    let next: number | undefined;
    try {
      await this.tick();
      next = await this.store.nextLifecycleMoment();
    } catch (error) {
      this.onError(error);
    }
    const untilNext = next === undefined ? this.options.pollMs : next - this.clock.now();
    this.schedule(Math.max(5, Math.min(this.options.pollMs, untilNext)));
  }

  private async run(): Promise<SessionEvent[]> {
    const emitted: SessionEvent[] = [];
    // Several emissions at once: on PostgreSQL each on its own connection and session row (a
    // burst of expiries is then not bound by one round trip after another); on SQLite they
    // share one commit (group commit), each in its own savepoint.
    const lanes = this.options.concurrency ?? 8;
    for (;;) {
      const now = this.clock.now();
      const ids = await this.store.dueLifecycleSessions(now, this.options.batchSize);
      let next = 0;
      const lane = async () => {
        while (next < ids.length) emitted.push(...(await this.emitDue(ids[next++]!, now)));
      };
      await Promise.all(Array.from({ length: Math.min(lanes, ids.length) }, lane));
      if (ids.length < this.options.batchSize) return emitted;
    }
  }

  private async emitDue(sessionId: string, now: number): Promise<SessionEvent[]> {
    const events = await this.store.transaction(async (tx) => {
      const current = await tx.getLifecycle(sessionId);
      if (!current) return [];
      const due = dueLifecycleEvents(current.session, current.flags, now);
      if (due.length === 0) return [];
      const info = toSessionInfo(current.session, now);
      const pending: PendingEvent[] = due.map((type) => ({ type, at: now, data: info }));
      return tx.emitLifecycle(sessionId, pending, current.flags, {
        warned: current.flags.warned || due.includes('session.warning'),
        expiryEmitted: current.flags.expiryEmitted || due.includes('session.expired'),
      });
    });
    // Replies in flight for an expired session stop when this event reaches them (Replies).
    this.fanout.publish(events);
    return events;
  }
}
