/**
 * Whose turn it is to reply in a session, across instances. Within one process, Replies already
 * queues a session's turns; in scaled mode two instances may each hold a turn of the same
 * session, and this lock makes the second wait for the first, so a session never has two
 * replies produced at once anywhere.
 *
 * The Redis lock is the single-instance pattern Redis documents: `SET key token NX PX ttl`,
 * kept alive while the turn runs, released only by its holder (compare-and-delete in Lua). A
 * holder that dies leaves a lock that expires after `ttlMs`.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Ends the turn; safe to call more than once. */
export type ReleaseTurn = () => Promise<void>;

export interface TurnLock {
  /** Resolves once this caller holds the session's turn; rejects with `signal.reason` on abort. */
  acquire(sessionId: string, signal: AbortSignal): Promise<ReleaseTurn>;
}

/** Embedded mode: one process, whose own queue is the whole story. */
export const processTurns: TurnLock = {
  acquire: async () => async () => {},
};

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface RedisTurnLockOptions {
  prefix?: string;
  /** How long a lock outlives a holder that stopped renewing it (a crashed process). */
  ttlMs?: number;
  /** How often a waiter tries again. */
  pollMs?: number;
  /** Told when Redis cannot be asked, and the turn goes ahead without the lock. */
  onUnavailable?: (error: unknown) => void;
}

export function redisTurnLock(redis: Redis, options: RedisTurnLockOptions = {}): TurnLock {
  const prefix = options.prefix ?? 'agent-sessions:turn';
  const ttlMs = options.ttlMs ?? 30_000;
  const pollMs = options.pollMs ?? 25;

  return {
    async acquire(sessionId, signal) {
      const key = `${prefix}:${sessionId}`;
      const token = randomUUID();
      for (;;) {
        signal.throwIfAborted();
        let taken: string | null;
        try {
          taken = await redis.set(key, token, 'PX', ttlMs, 'NX');
        } catch (error) {
          // Availability over strict ordering: without Redis, each instance keeps its own queue.
          options.onUnavailable?.(error);
          return async () => {};
        }
        if (taken === 'OK') break;
        await waitOrAbort(pollMs, signal);
      }
      const keepAlive = setInterval(
        () => {
          redis.eval(RENEW, 1, key, token, ttlMs).catch(() => {});
        },
        Math.floor(ttlMs / 3),
      );
      keepAlive.unref();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        clearInterval(keepAlive);
        await redis.eval(RELEASE, 1, key, token).catch(() => {});
      };
    },
  };
}

function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
