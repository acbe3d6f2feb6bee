/**
 * Which replies of a session are under way (running or waiting to run), for the whole fleet:
 * what makes a session "busy" (SPEC §10), what `cancel` cancels, and how a reply learns that it
 * was cancelled even when the `message.cancelled` event did not reach it.
 *
 * Every change that must not race another (a send deciding on its policy, a cancel, a reply
 * being stored) happens inside a store transaction that holds the session's row (PostgreSQL
 * locks it; SQLite has one writer), so the registry itself needs no locking beyond atomic
 * single commands. Each entry is removed exactly once: by the cancel that took it (which then
 * emits `message.cancelled`) or by its reply (stored, failed or timed out), never both.
 *
 * Embedded mode keeps the entries in process memory. Scaled mode keeps them in Redis, one sorted
 * set per session whose members are leases: the instance running a reply renews its lease, so
 * the entries of an instance that died lapse after `leaseMs` instead of keeping the session busy
 * for ever.
 */
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../clock.js';
import type { Message } from '../domain/message.js';

/** What identifies a reply under way: the user message it answers. */
export type PendingReply = Pick<Message, 'id' | 'sessionId' | 'createdAt'>;

export interface ReplyRegistry {
  /** Records that the reply to `message` is under way. */
  add(message: PendingReply): Promise<void>;
  /** The user message ids whose replies are under way, oldest message first. */
  pending(sessionId: string): Promise<string[]>;
  /** Removes every entry of the session; resolves with those this call removed, oldest first. */
  takeAll(sessionId: string): Promise<string[]>;
  /** Removes one entry; true when this call removed it (false: cancelled, or already gone). */
  remove(message: PendingReply): Promise<boolean>;
  /** True while the entry is there (neither cancelled nor finished). */
  has(message: PendingReply): Promise<boolean>;
  close(): void;
}

export class LocalReplyRegistry implements ReplyRegistry {
  /** sessionId → message id → createdAt. */
  private readonly sessions = new Map<string, Map<string, number>>();

  async add(message: PendingReply): Promise<void> {
    let entries = this.sessions.get(message.sessionId);
    if (!entries) this.sessions.set(message.sessionId, (entries = new Map<string, number>()));
    entries.set(message.id, message.createdAt);
  }

  async pending(sessionId: string): Promise<string[]> {
    return ordered(this.sessions.get(sessionId));
  }

  async takeAll(sessionId: string): Promise<string[]> {
    const ids = ordered(this.sessions.get(sessionId));
    this.sessions.delete(sessionId);
    return ids;
  }

  async remove(message: PendingReply): Promise<boolean> {
    const entries = this.sessions.get(message.sessionId);
    const removed = entries?.delete(message.id) ?? false;
    if (entries?.size === 0) this.sessions.delete(message.sessionId);
    return removed;
  }

  async has(message: PendingReply): Promise<boolean> {
    return this.sessions.get(message.sessionId)?.has(message.id) ?? false;
  }

  close(): void {
    this.sessions.clear();
  }
}

const ordered = (entries: Map<string, number> | undefined): string[] =>
  entries ? [...entries].sort((a, b) => a[1] - b[1]).map(([id]) => id) : [];

/** Members sort by the message's createdAt (strictly increasing within a session), then id. */
const member = (message: PendingReply) => `${String(message.createdAt).padStart(16, '0')}:${message.id}`;
const idOf = (member: string) => member.slice(member.indexOf(':') + 1);

/** Removes and returns the live members (lease not lapsed); drops the lapsed ones. */
const TAKE_ALL = `
redis.call('zremrangebyscore', KEYS[1], '-inf', '(' .. ARGV[1])
local live = redis.call('zrange', KEYS[1], 0, -1)
if #live > 0 then redis.call('del', KEYS[1]) end
return live`;

export interface RedisReplyRegistryOptions {
  prefix?: string;
  /** How long the entries of an instance that stopped renewing them (a crash) keep counting. */
  leaseMs?: number;
  /** Told when Redis cannot be asked; the registry then answers "nothing under way". */
  onUnavailable?: (error: unknown) => void;
  /** Wall-clock time shared by the fleet (tests move it to let leases lapse); the system clock by default. */
  clock?: Clock;
}

export class RedisReplyRegistry implements ReplyRegistry {
  private readonly prefix: string;
  private readonly leaseMs: number;
  /** The entries this instance added and still runs: their leases are renewed. */
  private readonly owned = new Map<string, PendingReply>();
  private readonly renewal: NodeJS.Timeout;
  private readonly clock: Clock;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisReplyRegistryOptions = {},
  ) {
    this.prefix = options.prefix ?? 'agent-sessions:replies';
    this.leaseMs = options.leaseMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    this.renewal = setInterval(() => void this.renewLeases(), Math.floor(this.leaseMs / 3));
    this.renewal.unref();
  }

  private key(sessionId: string): string {
    return `${this.prefix}:${sessionId}`;
  }

  /** Leases count in wall-clock time shared by the fleet, not in any session's clock. */
  private deadline(): number {
    return this.clock.now() + this.leaseMs;
  }

  /** Lost after having been connected (a first connection still being made is waited for). */
  private away(): boolean {
    return ['reconnecting', 'close', 'end'].includes(this.redis.status);
  }

  private async attempt<T>(work: () => Promise<T>, fallback: T): Promise<T> {
    // With Redis away, a command would wait in ioredis's offline queue for its reconnection
    // attempts (seconds): a send must not hang on it, so the answer is the fallback at once.
    if (this.away()) {
      this.options.onUnavailable?.(new Error(`Redis is ${this.redis.status}`));
      return fallback;
    }
    try {
      return await work();
    } catch (error) {
      this.options.onUnavailable?.(error);
      return fallback;
    }
  }

  async add(message: PendingReply): Promise<void> {
    this.owned.set(member(message), message);
    const key = this.key(message.sessionId);
    await this.attempt(async () => {
      await this.redis
        .multi()
        .zadd(key, this.deadline(), member(message))
        .pexpire(key, this.leaseMs * 2)
        .exec();
    }, undefined);
  }

  async pending(sessionId: string): Promise<string[]> {
    return this.attempt(async () => {
      const live = await this.redis.zrangebyscore(this.key(sessionId), this.clock.now(), '+inf');
      return live.sort().map(idOf);
    }, []);
  }

  async takeAll(sessionId: string): Promise<string[]> {
    return this.attempt(async () => {
      const taken = (await this.redis.eval(TAKE_ALL, 1, this.key(sessionId), this.clock.now())) as string[];
      return taken.sort().map(idOf);
    }, []);
  }

  async remove(message: PendingReply): Promise<boolean> {
    this.owned.delete(member(message));
    return this.attempt(async () => (await this.redis.zrem(this.key(message.sessionId), member(message))) === 1, true);
  }

  async has(message: PendingReply): Promise<boolean> {
    return this.attempt(async () => {
      const score = await this.redis.zscore(this.key(message.sessionId), member(message));
      return score !== null && Number(score) >= this.clock.now();
    }, true);
  }

  /** Renews the leases of the replies this instance runs (every third of a lease, and on demand). */
  async renewLeases(): Promise<void> {
    if (this.owned.size === 0 || this.away()) return;
    const batch = this.redis.multi();
    for (const [name, message] of this.owned) {
      const key = this.key(message.sessionId);
      // XX: a cancelled entry is not brought back.
      batch.zadd(key, 'XX', this.deadline(), name).pexpire(key, this.leaseMs * 2);
    }
    await batch.exec().catch((error) => this.options.onUnavailable?.(error));
  }

  close(): void {
    clearInterval(this.renewal);
    this.owned.clear();
  }
}
