/**
 * Delivers one session's events to one subscriber in sequence order, each exactly once: first
 * the stored events after the subscriber's last seen sequence number, then live ones. A live
 * event that arrives ahead of a gap (another transaction's event not yet seen) makes it read
 * the gap from the store first, so the subscriber never sees seq n+2 before n+1.
 */
import type { SessionEvent } from '../domain/events.js';

const PAGE = 500;

export class OrderedRelay {
  private chain: Promise<void> = Promise.resolve();
  private catchingUp = false;

  constructor(
    private readonly readAfter: (afterSeq: number, limit: number) => Promise<SessionEvent[]>,
    private readonly deliver: (event: SessionEvent) => void,
    private lastSeq: number,
  ) {}

  get lastDelivered(): number {
    return this.lastSeq;
  }

  /** Reads and delivers everything stored after the last delivered event. */
  catchUp(): Promise<void> {
    this.catchingUp = true;
    // A read that failed (the store away) must not stop every later one: chain after it anyway.
    this.chain = this.chain
      .catch(() => {})
      .then(async () => {
        try {
          for (;;) {
            const page = await this.readAfter(this.lastSeq, PAGE);
            for (const event of page) this.send(event);
            if (page.length < PAGE) break;
          }
        } finally {
          this.catchingUp = false;
        }
      });
    return this.chain;
  }

  /** A live event from the fan-out. */
  live(event: SessionEvent): void {
    if (event.seq <= this.lastSeq) return;
    if (event.seq === this.lastSeq + 1 && !this.catchingUp) this.send(event);
    else void this.catchUp().catch(() => {});
  }

  private send(event: SessionEvent): void {
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    this.deliver(event);
  }
}
