/**
 * One event feed for every live channel (SSE `/events`, Socket.IO): a subscriber's events of
 * one session in sequence order, each exactly once. From a known point (`Last-Event-ID`,
 * Socket.IO `lastSeq`) it first replays the stored events after it, then goes on with the live
 * ones, reading any gap back from the store (OrderedRelay). From `'live'` it starts with the
 * first live event it is given.
 */
import type { SessionEvent } from '../domain/events.js';
import type { Store } from '../store/store.js';
import type { Fanout } from './fanout.js';
import { OrderedRelay } from './relay.js';

export type FeedStart = number | 'live';

export class SessionFeed {
  private relay: OrderedRelay | undefined;
  private closed = false;

  constructor(
    private readonly store: Pick<Store, 'eventsAfter'>,
    readonly sessionId: string,
    private readonly deliver: (event: SessionEvent) => void,
    start: FeedStart,
  ) {
    if (start !== 'live') this.relay = this.relayAfter(start);
  }

  private relayAfter(seq: number): OrderedRelay {
    return new OrderedRelay(
      (afterSeq, limit) => this.store.eventsAfter(this.sessionId, afterSeq, limit),
      (event) => {
        if (!this.closed) this.deliver(event);
      },
      seq,
    );
  }

  /** The last event delivered (0 before any). */
  get lastSeq(): number {
    return this.relay?.lastDelivered ?? 0;
  }

  /**
   * Delivers the stored events after the last one delivered (at first: after the starting point);
   * called once at the start and again after a fan-out outage. Nothing to do for a live-only feed
   * that has had no event yet.
   */
  replay(): Promise<void> {
    return this.relay ? this.relay.catchUp() : Promise.resolve();
  }

  /** A live event of the session, as the fan-out delivers it (any order, possibly repeated). */
  live(event: SessionEvent): void {
    if (this.closed) return;
    this.relay ??= this.relayAfter(event.seq - 1);
    this.relay.live(event);
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * A feed with its own fan-out subscription, taken before the replay reads the store so that
 * nothing committed in between is missed. `close` unsubscribes.
 */
export function followSession(
  store: Pick<Store, 'eventsAfter'>,
  fanout: Pick<Fanout, 'subscribe' | 'onReconnect'>,
  sessionId: string,
  start: FeedStart,
  deliver: (event: SessionEvent) => void,
): { feed: SessionFeed; ready: Promise<void>; close(): void } {
  const feed = new SessionFeed(store, sessionId, deliver, start);
  const unsubscribe = fanout.subscribe(sessionId, (event) => feed.live(event));
  // After a Redis outage, events announced while it was away are read from the store.
  const offReconnect = fanout.onReconnect(() => void feed.replay().catch(() => {}));
  return {
    feed,
    ready: feed.replay(),
    close() {
      feed.close();
      unsubscribe();
      offReconnect();
    },
  };
}
