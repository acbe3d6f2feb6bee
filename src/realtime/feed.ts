/**
 * The one event feed every live channel reads (SSE `/events`, Socket.IO rooms): a subscriber's
 * events of one session in sequence order, each exactly once. From a known point
 * (`Last-Event-ID`, Socket.IO `lastSeq`, or the newest event stored when it joins) it first
 * replays the stored events after it, then goes on with the live ones, reading any gap back
 * from the store (OrderedRelay, whose `lastDelivered` is the feed's position). The fan-out
 * subscription is taken before the replay reads the store, so nothing committed in between is
 * missed; after a fan-out outage every subscriber reads its gap from the store.
 */
import type { SessionEvent } from '../domain/events.js';
import type { Store } from '../store/store.js';
import type { Fanout } from './fanout.js';
import { OrderedRelay } from './relay.js';

export type Deliver = (event: SessionEvent) => void;

/** The events after which a session has no more: a subscriber's feed ends with them. */
export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['session.expired', 'session.ended']);

/** One subscriber's position in one session's events. */
export class SessionFeed {
  private readonly relay: OrderedRelay;
  private closed = false;

  constructor(store: Pick<Store, 'eventsAfter'>, sessionId: string, deliver: Deliver, after: number) {
    this.relay = new OrderedRelay(
      (afterSeq, limit) => store.eventsAfter(sessionId, afterSeq, limit),
      (event) => {
        if (!this.closed) deliver(event);
      },
      after,
    );
  }

  /** The last event delivered (the starting point before any). */
  get lastSeq(): number {
    return this.relay.lastDelivered;
  }

  /** Delivers the stored events after the last one delivered: at the start and after a fan-out outage. */
  replay(): Promise<void> {
    return this.relay.catchUp();
  }

  /** A live event of the session, as the fan-out delivers it (any order, possibly repeated). */
  live(event: SessionEvent): void {
    if (!this.closed) this.relay.live(event);
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * One fan-out subscription to a session, shared by any number of subscribers (a Socket.IO room
 * holds one per instance; an SSE stream has its own).
 */
export class FeedChannel {
  private readonly feeds = new Set<SessionFeed>();
  private readonly unsubscribe: () => void;
  private readonly offReconnect: () => void;

  constructor(
    private readonly store: Pick<Store, 'eventsAfter'>,
    fanout: Pick<Fanout, 'subscribe' | 'onReconnect'>,
    readonly sessionId: string,
  ) {
    this.unsubscribe = fanout.subscribe(sessionId, (event) => {
      for (const feed of this.feeds) feed.live(event);
    });
    // After a Redis outage, events announced while it was away are read from the store.
    this.offReconnect = fanout.onReconnect(() => {
      for (const feed of this.feeds) void feed.replay().catch(() => {});
    });
  }

  /** A subscriber starting after `after`: the caller awaits `replay()` once to get the stored events. */
  follow(after: number, deliver: Deliver): SessionFeed {
    const feed = new SessionFeed(this.store, this.sessionId, deliver, after);
    this.feeds.add(feed);
    return feed;
  }

  /** Stops one subscriber's feed. */
  drop(feed: SessionFeed): void {
    feed.close();
    this.feeds.delete(feed);
  }

  /** Stops every feed and the subscription. */
  close(): void {
    for (const feed of this.feeds) feed.close();
    this.feeds.clear();
    this.unsubscribe();
    this.offReconnect();
  }
}

/** A single subscriber with its own subscription: `ready` settles once the replay is done. */
export interface Following {
  readonly feed: SessionFeed;
  readonly ready: Promise<void>;
  close(): void;
}

export class EventFeed {
  constructor(
    private readonly store: Pick<Store, 'eventsAfter' | 'lastEventSeq'>,
    private readonly fanout: Pick<Fanout, 'subscribe' | 'onReconnect'>,
  ) {}

  /** The sequence number of the session's newest stored event (0 before any): "from now on". */
  newestSeq(sessionId: string): Promise<number> {
    return this.store.lastEventSeq(sessionId);
  }

  /** A subscription to the session that several subscribers share. */
  channel(sessionId: string): FeedChannel {
    return new FeedChannel(this.store, this.fanout, sessionId);
  }

  /** One subscriber with its own subscription: the stored events after `after`, then the live ones. */
  follow(sessionId: string, after: number, deliver: Deliver): Following {
    const channel = this.channel(sessionId);
    const feed = channel.follow(after, deliver);
    return { feed, ready: feed.replay(), close: () => channel.close() };
  }
}
