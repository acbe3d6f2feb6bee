/**
 * The scaled mode's fan-out: every instance publishes the events it stored to one Redis
 * channel and delivers what it receives to its own subscribers. Events are already durable in
 * the database; Redis only carries the "something new" signal, and the per-subscriber relay
 * reads any gap back from the store, so a lost Redis message delays nothing past the next one.
 * After an outage nothing waits for a next one: when the subscriber connection is back, this
 * instance's subscribers read their gaps at once; when the publisher connection is back, it
 * announces a resync on the channel, so every instance does the same (an event stored here while
 * Redis was away reaches the subscribers of every instance).
 */
import { Redis } from 'ioredis';
import type { SessionEvent } from '../domain/events.js';
import { LocalFanout, type EventListener, type Fanout } from './fanout.js';

const CHANNEL = 'agent-sessions:events';
/** Not an event: "read your gaps from the store". */
const RESYNC = '{"resync":true}';

export class RedisFanout implements Fanout {
  private readonly local = new LocalFanout();
  private readonly publisher: Redis;
  private readonly subscriber: Redis;

  private constructor(url: string) {
    const options = { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: true };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    // Connection errors are reported by ping() (health) and retried by ioredis.
    this.publisher.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_channel: string, text: string) => {
      if (text === RESYNC) this.local.reconnected();
      else this.local.publish([JSON.parse(text) as SessionEvent]);
    });
    // `ready` fires on the first connection too; only the later ones follow an outage. ioredis
    // subscribes again by itself; subscribing once more (harmless) resolves after that, so the
    // gaps are read only once new announcements arrive again.
    let subscriberConnections = 0;
    this.subscriber.on('ready', () => {
      if (++subscriberConnections === 1) return;
      void this.subscriber.subscribe(CHANNEL).then(
        () => this.local.reconnected(),
        () => {},
      );
    });
    let publisherConnections = 0;
    this.publisher.on('ready', () => {
      if (++publisherConnections > 1) void this.publisher.publish(CHANNEL, RESYNC).catch(() => {});
    });
  }

  static async connect(url: string): Promise<RedisFanout> {
    const fanout = new RedisFanout(url);
    await fanout.publisher.connect();
    await fanout.subscriber.connect();
    await fanout.subscriber.subscribe(CHANNEL);
    return fanout;
  }

  publish(events: SessionEvent[]): void {
    for (const event of events) void this.publisher.publish(CHANNEL, JSON.stringify(event)).catch(() => {});
  }

  subscribe(sessionId: string, listener: EventListener): () => void {
    return this.local.subscribe(sessionId, listener);
  }

  onReconnect(listener: () => void): () => void {
    return this.local.onReconnect(listener);
  }

  subscriberCount(sessionId: string): number {
    return this.local.subscriberCount(sessionId);
  }

  async ping(): Promise<void> {
    await this.publisher.ping();
  }

  async close(): Promise<void> {
    await this.local.close();
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
