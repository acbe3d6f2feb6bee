/**
 * Health and readiness: what the health report, `/readyz` and the metrics' session gauges read
 * of the store and of Redis (through the fan-out), timed as round trips in the metrics.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import { timedPing } from '../observability/metrics.js';
import type { Fanout } from '../realtime/fanout.js';
import type { Store } from '../store/store.js';

/** The session counts of the health report (shared by every instance). */
export interface SessionCounts {
  activeSessions: number;
  expiringSoon: number;
  /** Sessions past their expiry that the scheduler has not processed yet (API field `invalidSessions`). */
  expiryBacklog: number;
}

/** How long `/readyz` waits for the store and Redis. */
const READY_TIMEOUT_MS = 2000;

export class HealthService {
  /**
   * Uptime is elapsed time, not an instant: it is measured on the monotonic clock, so that a
   * wall-clock step (or a test's injected clock) does not change it.
   */
  private readonly startedAt = performance.now();

  constructor(
    private readonly store: Pick<Store, 'healthCounts' | 'ping'>,
    private readonly fanout: Pick<Fanout, 'ping'>,
    private readonly clock: Clock,
  ) {}

  now(): number {
    return this.clock.now();
  }

  uptimeSeconds(): number {
    return Math.floor((performance.now() - this.startedAt) / 1000);
  }

  /** The session counts at `now`; throws when the store or Redis does not answer. */
  async sessionCounts(now: number = this.clock.now()): Promise<SessionCounts> {
    const [counts] = await Promise.all([this.store.healthCounts(now), timedPing('redis', () => this.fanout.ping())]);
    return { activeSessions: counts.activeSessions, expiringSoon: counts.expiringSoon, expiryBacklog: counts.invalidSessions };
  }

  /** The session counts for a metrics scrape, the store pinged too (its round trip is a metric). */
  async scrape(): Promise<SessionCounts> {
    const [counts] = await Promise.all([this.sessionCounts(), timedPing('store', () => this.store.ping())]);
    return counts;
  }

  /** What keeps this instance from serving: nothing when the store and Redis answer in time. */
  async unreadyCauses(): Promise<string[]> {
    const problems = await Promise.all([
      within(
        timedPing('store', () => this.store.ping()),
        READY_TIMEOUT_MS,
      ).then(
        () => undefined,
        () => 'the store is unreachable',
      ),
      within(
        timedPing('redis', () => this.fanout.ping()),
        READY_TIMEOUT_MS,
      ).then(
        () => undefined,
        () => 'Redis is unreachable',
      ),
    ]);
    return problems.filter((p) => p !== undefined);
  }
}

/** Rejects when `work` has not settled within `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
