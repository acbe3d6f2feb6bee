/**
 * Delivery of stored events to live subscribers (SSE streams, Socket.IO rooms). Events are
 * published only after the transaction that stored them has committed. This is the in-process
 * fan-out of the embedded mode.
 */
import { EventEmitter } from 'node:events';
import type { SessionEvent } from '../domain/events.js';

export type EventListener = (event: SessionEvent) => void;

export interface Fanout {
  publish(events: SessionEvent[]): void;
  /** Returns the function that unsubscribes. */
  subscribe(sessionId: string, listener: EventListener): () => void;
  /** How many live subscribers this instance holds for the session (leak checks, metrics). */
  subscriberCount(sessionId: string): number;
  /** Throws when the fan-out's backing service (Redis) cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class LocalFanout implements Fanout {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(events: SessionEvent[]): void {
    for (const event of events) this.emitter.emit(event.sessionId, event);
  }

  subscribe(sessionId: string, listener: EventListener): () => void {
    this.emitter.on(sessionId, listener);
    return () => this.emitter.off(sessionId, listener);
  }

  subscriberCount(sessionId: string): number {
    return this.emitter.listenerCount(sessionId);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
