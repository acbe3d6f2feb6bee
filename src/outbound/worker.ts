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
import type { AttemptOutcome, ClaimedDelivery, Store } from '../store/store.js';
import type { OutboundFetch } from './guard.js';
import { webhookAttempts, webhookDelivered, webhookFailed, webhookLag } from './metrics.js';
import { attemptDelivery } from './send.js';

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
  private pumping: Promise<void> | undefined;
  private again = false;
  private wakeScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly pollMs: number;
  private readonly concurrency: number;
  /** Longer than an attempt can take, so that a live holder never loses its lease. */
  readonly leaseMs: number;

  constructor(
    private readonly store: Pick<Store, 'deliveries'>,
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

  /** Stops claiming; attempts in flight finish and are recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pumping;
    await Promise.all([...this.inflight]);
  }

  /** Something may be due: look at the outbox soon (once per event-loop turn however often called). */
  wake(): void {
    if (this.stopped || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      if (this.pumping) this.again = true;
      else this.pumping = this.pump().finally(() => (this.pumping = undefined));
    });
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

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.inflight.size < this.concurrency) {
          const claimed = await this.store.deliveries.claim(this.clock.now(), this.concurrency - this.inflight.size, this.leaseMs);
          if (claimed.length === 0) break;
          for (const delivery of claimed) {
            const running: Promise<void> = this.attempt(delivery).finally(() => {
              this.inflight.delete(running);
              // The next event of the same session may be due now.
              this.wake();
            });
            this.inflight.add(running);
          }
        }
      } while (this.again && !this.stopped);
    } catch (error) {
      this.options.onError(error);
    }
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
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
      if (!recorded) return;
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
    } catch (error) {
      // The lease runs out and the delivery is attempted again.
      this.options.onError(error);
    }
  }
}
