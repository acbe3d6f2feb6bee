/**
 * Housekeeping: purges sessions whose retention period has passed (with their messages and
 * events) in bounded batches, forgets idempotency keys older than 24 hours, and settled webhook
 * deliveries older than WEBHOOK_MAX_AGE_HOURS.
 */
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
const PURGE_BATCH = 500;

export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly retentionMs: number,
    private readonly onError: (error: unknown) => void,
    /** How long delivered and failed webhook deliveries stay in their log (WEBHOOK_MAX_AGE_HOURS). */
    private readonly deliveryLogMs = 24 * 60 * 60_000,
  ) {}

  /** One pass; returns how many sessions were purged. */
  async runOnce(): Promise<number> {
    const now = this.clock.now();
    let purged = 0;
    for (;;) {
      const batch = await this.store.purgeExpired(now - this.retentionMs, PURGE_BATCH);
      purged += batch;
      if (batch < PURGE_BATCH) break;
    }
    await this.store.purgeIdempotencyKeys(now - IDEMPOTENCY_TTL_MS);
    await this.store.deliveries.purgeSettled(now - this.deliveryLogMs);
    return purged;
  }

  start(intervalMs = 60_000): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.runOnce()
        .catch(this.onError)
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
