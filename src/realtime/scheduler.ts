/**
 * Emits `session.warning` and `session.expired` from the stored `expiresAt` values, a batch of
 * due sessions per transaction: their rows read and locked (on PostgreSQL `SKIP LOCKED`, so
 * instances ticking at once split the due sessions between them and never wait for each other),
 * the domain's decision per session, then the events and flags of the whole batch stored in a
 * few statements. The flags are re-read under the lock, so an event is stored exactly once however
 * many instances tick; delivery reads what was stored. Anything that fell due while the server
 * was down is found by the first tick after start.
 */
import type { Clock } from '../clock.js';
import type { SessionEvent } from '../domain/events.js';
import { dueLifecycleEvents } from '../domain/schedule.js';
import { toSessionInfo } from '../domain/session.js';
import type { LifecycleEmission, LifecycleState, Store } from '../store/store.js';
import type { Fanout } from './fanout.js';

export interface SchedulerOptions {
  /** Longest wait between two looks at the store; events are emitted at most this late. */
  pollMs: number;
  /** Sessions due for a warning, and as many due for an expiry, read and emitted per transaction. */
  batchSize: number;
  /**
   * Batches emitted at once while more is due than one batch holds: 4 on PostgreSQL unless given;
   * 1 on SQLite, whose single writer runs them one after another anyway.
   */
  lanes?: number;
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
    // A full batch means more is due (a burst, or a backlog after downtime): then batches until
    // one comes back short, on PostgreSQL several at once, each a transaction on a connection of
    // its own that locks rows of its own (SKIP LOCKED), so that the burst is not bound by one
    // batch's round trips after another.
    if (await this.emitBatch(emitted)) {
      const lanes = this.options.lanes ?? (this.store.dialect === 'postgres' ? 4 : 1);
      const lane = async () => {
        while (await this.emitBatch(emitted));
      };
      await Promise.all(Array.from({ length: lanes }, lane));
    }
    return emitted;
  }

  /**
   * Emits one batch and publishes it; true when it was full. A batch short of its size took
   * everything due that no other transaction holds; one that emitted nothing would find the
   * same rows again.
   */
  private async emitBatch(emitted: SessionEvent[]): Promise<boolean> {
    const { found, events } = await this.storeBatch(this.clock.now());
    // After the commit. Replies in flight for an expired session stop when this event reaches
    // them (Replies).
    this.fanout.publish(events);
    emitted.push(...events);
    return found >= this.options.batchSize && events.length > 0;
  }

  /** One transaction: the due sessions read and locked, what is due decided per session, stored. */
  private storeBatch(now: number): Promise<{ found: number; events: SessionEvent[] }> {
    return this.store.transaction(async (tx) => {
      const due = await tx.dueLifecycle(now, this.options.batchSize);
      const emissions = due.flatMap((state) => emission(state, now));
      return { found: due.length, events: await tx.emitLifecycle(emissions) };
    });
  }
}

/** What is due for one session at `now` (domain/schedule.ts decides), as the store takes it. */
function emission({ session, flags }: LifecycleState, now: number): LifecycleEmission[] {
  const due = dueLifecycleEvents(session, flags, now);
  if (due.length === 0) return [];
  const info = toSessionInfo(session, now);
  return [
    {
      sessionId: session.id,
      events: due.map((type) => ({ type, at: now, data: info })),
      before: flags,
      after: {
        warned: flags.warned || due.includes('session.warning'),
        expiryEmitted: flags.expiryEmitted || due.includes('session.expired'),
      },
    },
  ];
}
