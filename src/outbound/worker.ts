/**
 * The webhook delivery worker: claims due deliveries from the outbox with a lease, attempts
 * them, records the outcome. Every instance runs one; the claim (store/sql-webhooks.ts) makes
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
import type { OutboundFetch } from './guard.js';
import { webhookAttempts, webhookDelivered, webhookFailed, webhookLag } from './metrics.js';
import { attemptDelivery } from './send.js';

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
  fetch: OutboundFetch;
  onError: (error: unknown) => void;
  /** Longest wait between two looks at the outbox. */
  pollMs?: number;
  /** Attempts in flight at once. */
  concurrency?: number;
}

export class DeliveryWorker {
  private readonly inflight = new Set<Promise<void>>();
  private stopped = true;
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
      await Promise.all(claimed.map((d) => this.attempt(d)));
      attempts += claimed.length;
    }
  }

  /** One look at the outbox: claims what is due, as many as there are free slots. */
  private async pump(): Promise<void> {
    try {
      while (!this.stopped && this.inflight.size < this.concurrency) {
        const room = this.concurrency - this.inflight.size;
        const claimed = await this.store.deliveries.claim(this.clock.now(), room, this.leaseMs);
        for (const delivery of claimed) {
          const running: Promise<void> = this.lane(delivery).finally(() => {
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
   * Attempts `first`, then, while each attempt settles its delivery (delivered or finally
   * failed), claims and attempts the next one of the same webhook and session: a session's
   * events follow each other without waiting for the next look at the whole outbox, and lanes
   * do not wait for each other.
   */
  private async lane(first: ClaimedDelivery): Promise<void> {
    let next: ClaimedDelivery | undefined = first;
    while (next && !this.stopped) {
      const settled = await this.attempt(next);
      if (!settled) return;
      try {
        [next] = await this.store.deliveries.claim(this.clock.now(), 1, this.leaseMs, {
          webhookId: next.webhookId,
          sessionId: next.sessionId,
        });
      } catch (error) {
        this.options.onError(error);
        return;
      }
    }
  }

  /** One attempt, recorded; true when the delivery is settled (delivered or finally failed). */
  private async attempt(d: ClaimedDelivery): Promise<boolean> {
    try {
      const result = await attemptDelivery(d, d, this.options.fetch, this.options.timeoutMs);
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
      const recorded = await this.store.deliveries.record(d, d.leaseId, outcome, now);
      if (!recorded) return false;
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
      return outcome.status !== 'pending';
    } catch (error) {
      // The lease runs out and the delivery is attempted again.
      this.options.onError(error);
      return false;
    }
  }
}
