/**
 * SPEC §6: at most MAX_STREAMS_PER_CREDENTIAL open event streams (GET …/events) and Socket.IO
 * connections together per credential; one more is refused with 429 RATE_LIMITED. A stream's
 * place is given back when it closes, whoever closes it.
 *
 * Embedded mode counts in the process. Scaled mode counts for the whole fleet in Redis: one
 * sorted set per credential, a member per open stream, scored with the moment it lapses. The
 * instance holding a stream renews its lapse time every LEASE_MS / 3 and removes it when the
 * stream closes, so the streams of an instance that died stop counting within LEASE_MS. Taking
 * a place is one script (drop lapsed members, count, add), so two instances cannot both take
 * the last one. While Redis is unreachable, each instance counts its own streams.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Principal } from '../auth/authenticator.js';
import { AppError } from '../domain/errors.js';

/** How long a refused client is told to wait before trying again (a stream may close any time). */
export const STREAM_RETRY_AFTER_SECONDS = 5;
/** A stream of an instance that stopped renewing it stops counting after this long. */
const LEASE_MS = 60_000;

/** Drops lapsed members, then adds ARGV[2] unless ARGV[3] members remain. Redis's clock decides. */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1`;

/** Moves ARGV[2]'s lapse time on, if it is still there. */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return 1`;

export interface StreamLimitsOptions {
  /** Scaled mode: the fleet's Redis. */
  redis?: Redis;
  /**
   * What makes this fleet's counters its own in a shared Redis: instances on the same database
   * share them (a digest of the database's address is used).
   */
  namespace?: string;
  /** Called when Redis cannot be used and the count falls back to this instance. */
  onUnavailable?: (error: unknown) => void;
}

export class StreamLimits {
  private readonly local = new Map<string, number>();
  /** Streams this instance holds in Redis: member → set key. */
  private readonly leased = new Map<string, string>();
  private readonly prefix: string;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly options: StreamLimitsOptions = {},
  ) {
    const namespace = createHash('sha256')
      .update(options.namespace ?? '')
      .digest('hex')
      .slice(0, 16);
    this.prefix = `agent-sessions:streams:${namespace}:`;
    if (options.redis) {
      this.renewTimer = setInterval(() => void this.renew(), LEASE_MS / 3);
      this.renewTimer.unref();
    }
  }

  /** The credential's count key; undefined when auth is off (one local user, nothing to share). */
  private keyOf(principal: Principal): string | undefined {
    if (principal.kind === 'key') return `key:${principal.keyId}`;
    if (principal.kind === 'session') return `session:${principal.sessionId}`;
    return undefined;
  }

  private refusal(): AppError {
    return new AppError(
      'RATE_LIMITED',
      'Too many open streams',
      `At most ${this.max} event streams and Socket.IO connections per credential`,
      {
        limit: this.max,
        retryAfter: STREAM_RETRY_AFTER_SECONDS,
      },
    );
  }

  /** Takes a place for `principal`, or throws RATE_LIMITED; the returned function gives it back (once). */
  async acquire(principal: Principal | null): Promise<() => void> {
    const key = principal ? this.keyOf(principal) : undefined;
    if (key === undefined) return () => {};
    const redis = this.options.redis;
    if (redis && redis.status === 'ready') {
      const setKey = this.prefix + key;
      const member = randomUUID();
      let taken: unknown;
      try {
        taken = await redis.eval(TAKE, 1, setKey, LEASE_MS, member, this.max);
      } catch (error) {
        this.options.onUnavailable?.(error);
        return this.acquireLocal(key);
      }
      if (taken !== 1) throw this.refusal();
      this.leased.set(member, setKey);
      return once(() => {
        this.leased.delete(member);
        redis.zrem(setKey, member).catch(() => {});
      });
    }
    return this.acquireLocal(key);
  }

  private acquireLocal(key: string): () => void {
    const count = this.local.get(key) ?? 0;
    if (count >= this.max) throw this.refusal();
    this.local.set(key, count + 1);
    return once(() => {
      const left = (this.local.get(key) ?? 1) - 1;
      if (left <= 0) this.local.delete(key);
      else this.local.set(key, left);
    });
  }

  /** Moves on the lapse time of every stream this instance holds in Redis. */
  async renew(): Promise<void> {
    const redis = this.options.redis;
    if (!redis || this.leased.size === 0 || redis.status !== 'ready') return;
    const pipeline = redis.pipeline();
    for (const [member, setKey] of this.leased) pipeline.eval(RENEW, 1, setKey, LEASE_MS, member);
    await pipeline.exec().catch((error) => this.options.onUnavailable?.(error));
  }

  stop(): void {
    clearInterval(this.renewTimer);
  }
}

function once(release: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
  };
}
