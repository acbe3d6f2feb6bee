/**
 * Rate limits (SPEC §7): fixed windows per session, user, agent and API key, counted with
 * rate-limiter-flexible. Counters live in process memory in the embedded mode; `redisLimiters`
 * gives the same policies over Redis, so all instances of the scaled mode share them.
 *
 * What is counted:
 * - every authenticated request with an API key: that key (refused ones, 403, included);
 * - every authorized request on `/sessions/:sessionId/...`: that session, its user, its agent
 *   (after authorization, so that a refused credential cannot spend another session's budget);
 * - create: the user and agent named in the body (when they are UUIDs).
 * A request refused with 429 is counted all the same, and it is refused before any handler
 * runs, so it changes nothing.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../domain/errors.js';
import { isUuid } from '../domain/validation.js';
import type { Principal } from '../auth/authenticator.js';
import type { SessionOwners } from '../services/session-owners.js';
import type { Settings } from '../settings.js';

export type PolicyName = 'session' | 'user' | 'agent' | 'key';

export interface Policy {
  name: PolicyName;
  /** Requests allowed per window. */
  points: number;
  windowSeconds: number;
}

/**
 * Builds the counter of one policy; swapped for Redis-backed counters in the scaled mode. A
 * factory over Redis also says where its counters are (`redis`), so that every window of one
 * request is counted in one round trip.
 */
export interface LimiterFactory {
  (policy: Policy): RateLimiterAbstract;
  redis?: { client: Redis; prefix: string };
}

const DEFAULT_WINDOWS: Readonly<Record<PolicyName, number>> = { session: 60, user: 3600, agent: 3600, key: 60 };

export function policiesFrom(limits: Settings['rateLimits'], windows: Partial<Record<PolicyName, number>> = {}): Policy[] {
  const w = { ...DEFAULT_WINDOWS, ...windows };
  return [
    { name: 'session', points: limits.sessionPerMinute, windowSeconds: w.session },
    { name: 'user', points: limits.userPerHour, windowSeconds: w.user },
    { name: 'agent', points: limits.agentPerHour, windowSeconds: w.agent },
    { name: 'key', points: limits.keyPerMinute, windowSeconds: w.key },
  ];
}

export const memoryLimiters: LimiterFactory = (policy) =>
  new RateLimiterMemory({ keyPrefix: `rl:${policy.name}`, points: policy.points, duration: policy.windowSeconds });

/**
 * Counters in Redis, shared by every instance. If Redis cannot be reached, each instance falls
 * back to counting on its own rather than failing every request.
 */
export function redisLimiters(client: Redis, prefix = 'agent-sessions:rl'): LimiterFactory {
  const factory: LimiterFactory = (policy) =>
    new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `${prefix}:${policy.name}`,
      points: policy.points,
      // Redis expiry takes whole seconds.
      duration: Math.max(1, Math.ceil(policy.windowSeconds)),
      rejectIfRedisNotReady: true,
      insuranceLimiter: memoryLimiters(policy),
    });
  factory.redis = { client, prefix };
  return factory;
}

/**
 * Every window of a request in one script, one round trip: for each key what
 * rate-limiter-flexible's RateLimiterRedis does for one (the same keys, the same counter), so
 * the two paths can take turns on the same counters.
 */
const CHARGE_WINDOWS_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  local seconds = ARGV[i]
  redis.call('set', key, 0, 'EX', seconds, 'NX')
  local consumed = redis.call('incrby', key, 1)
  local ttl = redis.call('pttl', key)
  if ttl == -1 then
    redis.call('expire', key, seconds)
    ttl = 1000 * seconds
  end
  out[#out + 1] = consumed
  out[#out + 1] = ttl
end
return out
`;

interface WindowsClient extends Redis {
  agentSessionsChargeWindows(...args: Array<string | number>): Promise<number[]>;
}

export interface Charge {
  policy: PolicyName;
  id: string;
}

export interface Outcome {
  policy: Policy;
  remaining: number;
  /** Milliseconds until this window starts over. */
  resetMs: number;
  exceeded: boolean;
}

export class RateLimits {
  private readonly limiters = new Map<PolicyName, { policy: Policy; limiter: RateLimiterAbstract }>();
  private readonly redis: { client: WindowsClient; prefix: string } | undefined;

  constructor(policies: Policy[], factory: LimiterFactory = memoryLimiters) {
    for (const policy of policies) this.limiters.set(policy.name, { policy, limiter: factory(policy) });
    if (factory.redis) {
      const client = factory.redis.client as WindowsClient;
      if (typeof client.agentSessionsChargeWindows !== 'function') {
        client.defineCommand('agentSessionsChargeWindows', { lua: CHARGE_WINDOWS_LUA });
      }
      this.redis = { client, prefix: factory.redis.prefix };
    }
  }

  /** Counts one request against every given window at once. */
  async charge(charges: Charge[]): Promise<Outcome[]> {
    if (this.redis && this.redis.client.status === 'ready' && charges.length > 0) {
      try {
        return await this.chargeInRedis(this.redis, charges);
      } catch {
        // Redis failed in mid-request: each window on its own, with its in-memory fallback.
      }
    }
    return this.chargeEach(charges);
  }

  private async chargeInRedis(redis: { client: WindowsClient; prefix: string }, charges: Charge[]): Promise<Outcome[]> {
    const policies = charges.map((c) => this.limiters.get(c.policy)!.policy);
    const keys = charges.map((c) => `${redis.prefix}:${c.policy}:${c.id}`);
    const seconds = policies.map((p) => Math.max(1, Math.ceil(p.windowSeconds)));
    const result = await redis.client.agentSessionsChargeWindows(keys.length, ...keys, ...seconds);
    return policies.map((policy, i) => {
      const consumed = Number(result[2 * i]);
      return {
        policy,
        remaining: Math.max(0, policy.points - consumed),
        resetMs: Math.max(0, Number(result[2 * i + 1])),
        exceeded: consumed > policy.points,
      };
    });
  }

  private chargeEach(charges: Charge[]): Promise<Outcome[]> {
    return Promise.all(
      charges.map(async ({ policy: name, id }) => {
        const { policy, limiter } = this.limiters.get(name)!;
        let result: RateLimiterRes;
        let exceeded = false;
        try {
          result = await limiter.consume(id);
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection;
          result = rejection;
          exceeded = true;
        }
        return { policy, remaining: Math.max(0, result.remainingPoints), resetMs: Math.max(0, result.msBeforeNext), exceeded };
      }),
    );
  }
}

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** The policy a client is closest to running out of: fewest remaining, then latest reset. */
export function tightest(outcomes: Outcome[]): Outcome {
  return outcomes.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
}

const per = (s: number): string => (s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`);

/** Counts requests against their windows and answers 429 once one is used up. */
export class RequestLimiter {
  private readonly seen = new WeakMap<FastifyRequest, Outcome[]>();

  constructor(
    private readonly rateLimits: RateLimits,
    private readonly owners: SessionOwners,
  ) {}

  /**
   * Counts an authenticated request: for its API key always; for the session it names (and
   * that session's user and agent) only when it was `authorized`, so a refused credential
   * cannot spend another session's budget.
   */
  async charge(request: FastifyRequest, reply: FastifyReply, principal: Principal, authorized: boolean): Promise<void> {
    const sessionId = (request.params as { sessionId?: unknown } | undefined)?.sessionId;
    const charges = await this.chargesOf(principal, authorized && typeof sessionId === 'string' ? sessionId : undefined);
    if (charges.length > 0) this.enforce(request, reply, await this.rateLimits.charge(charges));
  }

  /**
   * The same windows for Socket.IO: a handshake counts for its key, a join also for the
   * session, its user and its agent (once authorized). There are no headers to set: a used-up
   * window refuses with RATE_LIMITED, `retryAfter` in the error.
   */
  async chargeSocket(principal: Principal, sessionId?: string): Promise<void> {
    const charges = await this.chargesOf(principal, sessionId);
    if (charges.length === 0) return;
    const refusal = refusalOf(await this.rateLimits.charge(charges));
    if (refusal) throw refusal.error;
  }

  private async chargesOf(principal: Principal, sessionId: string | undefined): Promise<Charge[]> {
    const charges: Charge[] = [];
    if (principal.kind === 'key') charges.push({ policy: 'key', id: principal.keyId });
    const owner = sessionId === undefined ? undefined : await this.owners.get(sessionId);
    if (owner) {
      charges.push(
        { policy: 'session', id: sessionId! },
        { policy: 'user', id: owner.userId.toLowerCase() },
        { policy: 'agent', id: owner.agentId.toLowerCase() },
      );
    }
    return charges;
  }

  /** Create counts for the user and agent its body names (once the body is parsed). */
  async chargeCreate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const body = request.body as { userId?: unknown; agentId?: unknown } | undefined;
    const charges: Charge[] = [];
    if (typeof body?.userId === 'string' && isUuid(body.userId)) charges.push({ policy: 'user', id: body.userId.toLowerCase() });
    if (typeof body?.agentId === 'string' && isUuid(body.agentId)) charges.push({ policy: 'agent', id: body.agentId.toLowerCase() });
    if (charges.length > 0) this.enforce(request, reply, await this.rateLimits.charge(charges));
  }

  /** Headers of the tightest window so far; 429 when any window of this request is used up. */
  private enforce(request: FastifyRequest, reply: FastifyReply, fresh: Outcome[]): void {
    const all = [...(this.seen.get(request) ?? []), ...fresh];
    this.seen.set(request, all);
    const shown = tightest(all);
    void reply
      .header('ratelimit-limit', shown.policy.points)
      .header('ratelimit-remaining', shown.remaining)
      .header('ratelimit-reset', seconds(shown.resetMs));
    const refusal = refusalOf(all);
    if (!refusal) return;
    void reply.header('retry-after', refusal.retryAfter);
    throw refusal.error;
  }
}

/** RATE_LIMITED when a window is used up: nothing gets through before every such window starts over. */
function refusalOf(outcomes: Outcome[]): { error: AppError; retryAfter: number } | undefined {
  const exceeded = outcomes.filter((o) => o.exceeded);
  if (exceeded.length === 0) return undefined;
  const retryAfter = Math.max(...exceeded.map((o) => seconds(o.resetMs)));
  const worst = exceeded.find((o) => seconds(o.resetMs) === retryAfter)!;
  const error = new AppError(
    'RATE_LIMITED',
    'Too many requests',
    `${worst.policy.name} limit: ${worst.policy.points} requests per ${per(worst.policy.windowSeconds)}`,
    { retryAfter },
  );
  return { error, retryAfter };
}
