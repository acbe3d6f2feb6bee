/**
 * The server's time as seen from the browser. Countdowns use it, not the browser's clock, so a
 * browser whose clock is wrong still shows the right time left. The offset is learnt from direct
 * answers (`expiresAt - timeRemaining` is the server's "now" when it answered) and from events
 * (the server was at least at an event's `at`; a replayed old event teaches nothing).
 */
export class ServerClock {
  private offset = 0;

  constructor(private readonly localNow: () => number = () => Date.now()) {}

  now(): number {
    return this.localNow() + this.offset;
  }

  /** The server's time when it answered: taken as is. */
  answered(serverMs: number | undefined): void {
    if (serverMs !== undefined && Number.isFinite(serverMs)) this.offset = serverMs - this.localNow();
  }

  /** The server was at least at `serverMs`: moves forward only. */
  atLeast(serverMs: number | undefined): void {
    if (serverMs !== undefined && Number.isFinite(serverMs) && serverMs > this.now()) this.offset = serverMs - this.localNow();
  }
}

/**
 * The server's time when it produced `info`, or undefined when it cannot be told (at
 * `timeRemaining` 0 the server's time is anything from `expiresAt` on).
 */
export function serverTimeOf(info: { expiresAt?: string; timeRemaining?: number }): number | undefined {
  if (typeof info.timeRemaining !== 'number' || info.timeRemaining <= 0 || typeof info.expiresAt !== 'string') return undefined;
  const expiresAt = Date.parse(info.expiresAt);
  return Number.isFinite(expiresAt) ? expiresAt - info.timeRemaining : undefined;
}
