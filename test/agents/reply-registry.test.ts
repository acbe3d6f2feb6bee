/**
 * The registry of replies under way (SPEC §10 "busy"): in process memory for the embedded mode
 * and in Redis for a fleet, with the same answers; in Redis the entries of an instance that
 * stopped renewing its leases lapse. The Redis cases run when TEST_REDIS=1 (the test runner sets
 * it when Redis is reachable).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { LocalReplyRegistry, RedisReplyRegistry, type ReplyRegistry } from '../../src/agents/reply-registry.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const withRedis = process.env.TEST_REDIS === '1';
const clients: Redis[] = [];
after(() => clients.forEach((c) => c.disconnect()));

function redisRegistry(now: () => number, leaseMs = 30_000): RedisReplyRegistry {
  const client = new Redis(redisUrl);
  clients.push(client);
  // A prefix of its own: other test runs share this Redis.
  return new RedisReplyRegistry(client, { prefix: `test:replies:${randomUUID()}`, leaseMs, clock: { now } });
}

async function contract(make: () => ReplyRegistry): Promise<void> {
  const registry = make();
  try {
    const sessionId = randomUUID();
    const other = randomUUID();
    const m = (createdAt: number, session = sessionId) => ({ id: randomUUID(), sessionId: session, createdAt });
    const [one, two, three] = [m(1_000), m(2_000), m(30_000)];
    assert.deepEqual(await registry.pending(sessionId), []);
    // Added out of order: listed by the message's time.
    await registry.add(three);
    await registry.add(one);
    await registry.add(two);
    await registry.add(m(5, other));
    assert.deepEqual(await registry.pending(sessionId), [one.id, two.id, three.id]);
    assert.equal(await registry.has(two), true);
    assert.equal(await registry.remove(two), true, 'the first removal wins');
    assert.equal(await registry.remove(two), false, 'and only it');
    assert.equal(await registry.has(two), false);
    assert.deepEqual(await registry.takeAll(sessionId), [one.id, three.id]);
    assert.deepEqual(await registry.takeAll(sessionId), [], 'taken once');
    assert.equal(await registry.remove(one), false, 'a cancelled reply finds itself gone');
    assert.equal((await registry.pending(other)).length, 1, 'other sessions untouched');
  } finally {
    registry.close();
  }
}

describe('in process', () => {
  test('add, list in message order, remove once, take all once', () => contract(() => new LocalReplyRegistry()));
});

describe('in Redis', { skip: withRedis ? false : 'Redis not available (TEST_REDIS=1 runs it)' }, () => {
  test('the same answers', () => contract(() => redisRegistry(Date.now)));

  test("an instance that stops renewing: its entries lapse after the lease; a live one's renewals keep them", async () => {
    let now = 1_000_000;
    const clock = () => now;
    const dead = redisRegistry(clock, 1_000);
    const prefix = (dead as unknown as { prefix: string }).prefix;
    const client = new Redis(redisUrl);
    clients.push(client);
    const alive = new RedisReplyRegistry(client, { prefix, leaseMs: 1_000, clock: { now: clock } });
    const sessionId = randomUUID();
    const a = { id: randomUUID(), sessionId, createdAt: 1 };
    const b = { id: randomUUID(), sessionId, createdAt: 2 };
    await dead.add(a);
    await alive.add(b);
    dead.close();
    now += 900;
    await alive.renewLeases();
    assert.deepEqual(await alive.pending(sessionId), [a.id, b.id]);
    now += 200;
    assert.deepEqual(await alive.pending(sessionId), [b.id], "the dead instance's entry lapsed");
    assert.equal(await alive.has(a), false);
    assert.deepEqual(await alive.takeAll(sessionId), [b.id]);
    await alive.renewLeases();
    assert.deepEqual(await alive.pending(sessionId), [], 'a renewal does not bring back a cancelled entry');
    alive.close();
  });
});
