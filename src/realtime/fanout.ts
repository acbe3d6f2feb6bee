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
  /**
   * Called after the fan-out lost its backing service (Redis) and has it back: events stored
   * meanwhile may never have been announced, so each subscriber reads its gap from the store.
   * Returns the function that stops the calls.
   */
  onReconnect(listener: () => void): () => void;
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

  private readonly reconnects = new Set<() => void>();

  onReconnect(listener: () => void): () => void {
    this.reconnects.add(listener);
    return () => this.reconnects.delete(listener);
  }

  /** Calls every reconnect listener (the Redis fan-out's, after an outage). */
  reconnected(): void {
    for (const listener of [...this.reconnects]) listener();
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.reconnects.clear();
    this.emitter.removeAllListeners();
  }
}
