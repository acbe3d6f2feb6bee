/**
 * Scaled-mode rate limits: every window of a request counted by one script in Redis, on the same
 * keys and with the same arithmetic as rate-limiter-flexible's per-window path, which takes over
 * when Redis is not ready.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RateLimits, redisLimiters, type Policy } from '../../src/http/rate-limit.js';

describe('rate limits in Redis', { skip: process.env.TEST_REDIS === '0' ? 'Redis not reachable' : undefined }, () => {
  const prefix = `agent-sessions-test:rl1:${process.pid}:${Date.now()}`;
  let redis: Redis;
  const policies: Policy[] = [
    { name: 'session', points: 2, windowSeconds: 60 },
    { name: 'user', points: 3, windowSeconds: 3600 },
    { name: 'agent', points: 5, windowSeconds: 3600 },
    { name: 'key', points: 10, windowSeconds: 60 },
  ];
  const charges = [
    { policy: 'session' as const, id: 's1' },
    { policy: 'user' as const, id: 'u1' },
    { policy: 'agent' as const, id: 'a1' },
    { policy: 'key' as const, id: 'k1' },
  ];

  before(async () => {
    redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    await redis.ping();
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  test('all windows in one script: counts, remaining, reset, exceeded; the per-window path shares the counters', async () => {
    const limits = new RateLimits(policies, redisLimiters(redis, prefix));
    const first = await limits.charge(charges);
    assert.deepEqual(
      first.map((o) => [o.policy.name, o.remaining, o.exceeded]),
      [
        ['session', 1, false],
        ['user', 2, false],
        ['agent', 4, false],
        ['key', 9, false],
      ],
    );
    assert.ok(first[0]!.resetMs > 59_000 && first[0]!.resetMs <= 60_000, String(first[0]!.resetMs));
    assert.ok(first[1]!.resetMs > 3_599_000 && first[1]!.resetMs <= 3_600_000, String(first[1]!.resetMs));
    assert.equal(await redis.get(`${prefix}:session:s1`), '1');
    assert.equal(await redis.get(`${prefix}:key:k1`), '1');
    const ttl = await redis.pttl(`${prefix}:user:u1`);
    assert.ok(ttl > 3_599_000 && ttl <= 3_600_000, String(ttl));

    // The same counters through rate-limiter-flexible, one window at a time.
    const factory = redisLimiters(redis, prefix);
    const plain = Object.assign((p: Policy) => factory(p), {});
    const each = new RateLimits(policies, plain);
    const second = await each.charge(charges);
    assert.deepEqual(
      second.map((o) => [o.remaining, o.exceeded]),
      [
        [0, false],
        [1, false],
        [3, false],
        [8, false],
      ],
    );

    const third = await limits.charge(charges);
    assert.deepEqual(
      third.map((o) => [o.remaining, o.exceeded]),
      [
        [0, true],
        [0, false],
        [2, false],
        [7, false],
      ],
    );
    assert.equal(await redis.get(`${prefix}:session:s1`), '3');
  });
});
