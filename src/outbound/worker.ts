/**
 * The webhook delivery worker: claims due deliveries from the outbox with a lease, attempts
 * them, records the outcomes (in batches, settle-batch.ts); a record that settles a delivery
 * claims the next one of its webhook and session in the same round trip. Every instance runs one; the claim (store/sql-webhooks.ts) makes
 * sure that one instance at a time holds a delivery, and that a delivery waits until the
 * earlier events of its session have been delivered or have finally failed for its webhook.
 * An instance that dies holding deliveries lets their leases run out; another takes them over.
 *
 * It is woken when this instance stores an event, and polls as a fallback (events stored by
 * other instances, retries falling due), so a first attempt follows its event within a second.
 * Time comes from the injected clock (backoff, leases, the maximum age); `tick()` lets tests
 * drive it step by step.
 */
import type { Clock } from '../clock.js';
import { afterFailure } from '../domain/webhook.js';
import type { DatabaseSettings } from '../settings.js';
import { openPostgresDeliveries } from '../store/sql-webhooks.js';
import type { AttemptOutcome, ClaimedDelivery, Store } from '../store/store.js';
import type { OutboundRequest } from './guard.js';
import { webhookAttempts, webhookDelivered, webhookFailed, webhookLag } from './metrics.js';
import { attemptDelivery } from './send.js';
import { SettleBatches } from './settle-batch.js';

/** The shortest time between two looks at the whole outbox. */
const MIN_LOOK_INTERVAL_MS = 50;

/** PostgreSQL connections of the worker's own pool (beside the store's DATABASE_POOL_SIZE). */
const DELIVERY_POOL_SIZE = 4;

/** Where the worker reads and records deliveries; `release` is called once it has stopped. */
export interface DeliverySource extends Pick<Store, 'deliveries'> {
  release?(): Promise<void>;
}

/**
 * The worker's deliveries: on PostgreSQL over a pool of its own (DELIVERY_POOL_SIZE), so that
 * a burst of requests holding the store's connections does not hold up deliveries (measured in
 * docs/benchmarks.md); on SQLite the store itself (one connection, one writer).
 */
export function deliverySource(database: DatabaseSettings, store: Store): DeliverySource {
  if (database.kind !== 'postgres') return store;
  const own = openPostgresDeliveries(database.url, DELIVERY_POOL_SIZE);
  return { deliveries: own.deliveries, release: () => own.close() };
}

export interface DeliveryWorkerOptions {
  timeoutMs: number;
  maxAgeMs: number;
  request: OutboundRequest;
  onError: (error: unknown) => void;
  /** Longest wait between two looks at the outbox. */
  pollMs?: number;
  /** Attempts in flight at once. */
  concurrency?: number;
}

export class DeliveryWorker {
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = true;
  /** Set by stop(): records claim no next delivery. */
  private stopping = false;
  private readonly batches: SettleBatches;
  private released = false;
  private pumping: Promise<void> | undefined;
  private again = false;
  private wakeScheduled = false;
  private lastLook = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pollMs: number;
  private readonly concurrency: number;
  /** Longer than an attempt can take, so that a live holder never loses its lease. */
  readonly leaseMs: number;

  constructor(
    private readonly store: DeliverySource,
    private readonly clock: Clock,
    private readonly options: DeliveryWorkerOptions,
  ) {
    this.pollMs = options.pollMs ?? 250;
    this.concurrency = options.concurrency ?? 64;
    this.leaseMs = 2 * options.timeoutMs + 2000;
    this.batches = new SettleBatches((records) => this.store.deliveries.settle(records, this.clock.now(), this.leaseMs, !this.stopping));
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops claiming; attempts in flight finish and are recorded; then the source is released. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    clearInterval(this.timer);
    await this.pumping;
    await Promise.all([...this.inflight]);
    if (!this.released) {
      this.released = true;
      await this.store.release?.();
    }
  }

  /**
   * Something may be due: look at the whole outbox soon. However often it is called, a look
   * starts at most every MIN_LOOK_INTERVAL_MS (a burst of events costs one claim, not one per
   * event); the deliveries that follow an attempt in their session need no look (lanes).
   */
  wake(): void {
    if (this.stopped || this.wakeScheduled) return;
    this.wakeScheduled = true;
    const run = () => {
      this.wakeScheduled = false;
      if (this.pumping) {
        this.again = true;
        return;
      }
      this.lastLook = performance.now();
      this.pumping = this.pump().finally(() => {
        this.pumping = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
    };
    // The throttle paces real timers, so it reads the monotonic clock: the injected clock may be
    // a test's frozen one, which would never let the interval pass.
    const wait = this.lastLook + MIN_LOOK_INTERVAL_MS - performance.now();
    if (wait <= 0) setImmediate(run);
    else setTimeout(run, wait).unref();
  }

  /**
   * Attempts everything due now, and what falls due as earlier events are delivered, until
   * nothing is due; returns the number of attempts. For tests (the background loop is off).
   */
  async tick(): Promise<number> {
    let attempts = 0;
    for (;;) {
      const claimed = await this.store.deliveries.claim(this.clock.now(), this.concurrency, this.leaseMs);
      if (claimed.length === 0) return attempts;
      for (const count of await Promise.all(claimed.map((d) => this.lane(d)))) attempts += count;
    }
  }

  /** One look at the outbox: claims what is due, as many as there are free slots. */
  private async pump(): Promise<void> {
    try {
      while (!this.stopped && this.inflight.size < this.concurrency) {
        const room = this.concurrency - this.inflight.size;
        const claimed = await this.store.deliveries.claim(this.clock.now(), room, this.leaseMs);
        for (const delivery of claimed) {
          const running: Promise<unknown> = this.lane(delivery).finally(() => {
            this.inflight.delete(running);
            // A slot is free: other sessions' deliveries may be waiting for one.
            this.wake();
          });
          this.inflight.add(running);
        }
        // Fewer than asked for: nothing more is due now.
        if (claimed.length < room) break;
      }
    } catch (error) {
      this.options.onError(error);
    }
  }

  /**
   * Attempts `first`, then, while each record settles its delivery (delivered or finally failed)
   * and claims the next one of the same webhook and session, that one: a session's events follow
   * each other without waiting for the next look at the whole outbox, and lanes do not wait for
   * each other. Returns the number of attempts.
   */
  private async lane(first: ClaimedDelivery): Promise<number> {
    let attempts = 0;
    // A delivery claimed is attempted even when the worker is stopping, rather than left leased
    // (unattempted) until its lease runs out; stopping, the records claim nothing more.
    for (let next: ClaimedDelivery | undefined = first; next; attempts++) next = await this.attempt(next);
    return attempts;
  }

  /** One attempt, recorded; the next delivery of its lane when the record claimed one. */
  private async attempt(d: ClaimedDelivery): Promise<ClaimedDelivery | undefined> {
    try {
      const result = await attemptDelivery(d, d, this.options.request, this.options.timeoutMs);
      const now = this.clock.now();
      let outcome: AttemptOutcome;
      if (result.ok) {
        outcome = { status: 'delivered', httpStatus: result.status };
      } else {
        const next = afterFailure(d, now, this.options.maxAgeMs);
        outcome =
          next.status === 'failed'
            ? { status: 'failed', httpStatus: result.status, error: result.error }
            : { status: 'pending', httpStatus: result.status, error: result.error, nextAttemptAt: next.nextAttemptAt };
      }
      const key = { webhookId: d.webhookId, sessionId: d.sessionId, seq: d.seq };
      const settlement = await this.batches.add({ key, leaseId: d.leaseId, outcome, at: now });
      if (!settlement.recorded) return undefined;
      if (outcome.status === 'delivered') {
        webhookAttempts.inc({ outcome: 'delivered' });
        webhookDelivered.inc();
        webhookLag.observe(Math.max(0, now - d.at) / 1000);
      } else if (outcome.status === 'failed') {
        webhookAttempts.inc({ outcome: 'failed' });
        webhookFailed.inc();
      } else {
        webhookAttempts.inc({ outcome: 'retry' });
      }
      return settlement.next;
    } catch (error) {
      // The lease runs out and the delivery is attempted again.
      this.options.onError(error);
      return undefined;
    }
  }
}
