/**
 * sessionId → {userId, agentId}, for the rate limiter, which charges every request on a session
 * to its user and agent as well. The pair never changes for a session, so a bounded in-process
 * cache is exact: only the first request for a session (on each instance) reads the store.
 */
import { isUuid } from '../domain/validation.js';
import type { Store } from '../store/store.js';

export interface SessionOwner {
  userId: string;
  agentId: string;
}

export class SessionOwners {
  private readonly cache = new Map<string, SessionOwner>();

  constructor(
    private readonly store: Pick<Store, 'getSession'>,
    private readonly capacity = 50_000,
  ) {}

  remember(session: { id: string; userId: string; agentId: string }): void {
    // Re-inserting moves the entry to the young end of the Map's insertion order (LRU).
    this.cache.delete(session.id);
    this.cache.set(session.id, { userId: session.userId, agentId: session.agentId });
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The owners of an existing session, or undefined for an unknown or malformed id. */
  async get(sessionId: string): Promise<SessionOwner | undefined> {
    const cached = this.cache.get(sessionId);
    if (cached) {
      this.cache.delete(sessionId);
      this.cache.set(sessionId, cached);
      return cached;
    }
    if (!isUuid(sessionId)) return undefined;
    const session = await this.store.getSession(sessionId);
    if (!session) return undefined;
    this.remember(session);
    return { userId: session.userId, agentId: session.agentId };
  }

  get size(): number {
    return this.cache.size;
  }
}
