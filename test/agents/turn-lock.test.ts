/**
 * The reply-turn lock of the scaled mode, against a real Redis: one holder per session, waiters
 * go on when it is released, an abort stops a waiter, a dead holder's lock expires, a release
 * never frees somebody else's turn, and without Redis turns go ahead.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { redisTurnLock, type TurnLock } from '../../src/agents/turn-lock.js';
import { closedPort } from './helpers.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `test:turn:${randomUUID()}`;

/** Settles to 'pending' if `promise` has not settled within a few event-loop turns. */
async function state(promise: Promise<unknown>): Promise<'settled' | 'pending'> {
  const marker = Symbol('pending');
  const result = await Promise.race([promise.then(() => 'settled' as const, () => 'settled' as const), new Promise((r) => setTimeout(() => r(marker), 60))]);
  return result === marker ? 'pending' : 'settled';
}

describe('redisTurnLock', { skip: process.env.TEST_REDIS === '0' ? 'Redis not reachable' : undefined }, () => {
  let redis: Redis;
  let lock: TurnLock;
  before(async () => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    lock = redisTurnLock(redis, { prefix: PREFIX, pollMs: 5 });
  });
  after(() => redis.disconnect());

  const never = () => new AbortController().signal;

  test('one turn per session at a time; the next starts when it is released', async () => {
    const session = randomUUID();
    const release = await lock.acquire(session, never());
    assert.equal(await redis.pttl(`${PREFIX}:${session}`) > 0, true, 'the lock has a TTL');
    const second = lock.acquire(session, never());
    assert.equal(await state(second), 'pending');
    await release();
    const releaseSecond = await second;
    assert.equal(await state(lock.acquire(session, never())), 'pending', 'now the second holds it');
    await releaseSecond();
  });

  test('other sessions do not wait', async () => {
    const release = await lock.acquire(randomUUID(), never());
    const other = await lock.acquire(randomUUID(), never());
    await other();
    await release();
  });

  test('an abort stops a waiter with its reason, and it takes nothing', async () => {
    const session = randomUUID();
    const release = await lock.acquire(session, never());
    const token = await redis.get(`${PREFIX}:${session}`);
    const waiter = new AbortController();
    const waiting = lock.acquire(session, waiter.signal);
    const reason = new Error('the client went away');
    waiter.abort(reason);
    await assert.rejects(waiting, (error) => error === reason);
    assert.equal(await redis.get(`${PREFIX}:${session}`), token, 'still the first holder');
    await release();
    assert.equal(await redis.exists(`${PREFIX}:${session}`), 0);
  });

  test("a dead holder's lock expires; a late release does not free the next holder's turn", async () => {
    const session = randomUUID();
    const key = `${PREFIX}:${session}`;
    // A holder that crashed: nobody renews its lock, which expires after its TTL.
    await redis.set(key, 'crashed-holder', 'PX', 150);
    const release = await lock.acquire(session, never());
    assert.notEqual(await redis.get(key), 'crashed-holder');

    const shortLived = redisTurnLock(redis, { prefix: PREFIX, ttlMs: 150, pollMs: 5 });
    const other = randomUUID();
    const releaseOld = await shortLived.acquire(other, never());
    await redis.del(`${PREFIX}:${other}`); // as if it had expired
    const releaseNew = await lock.acquire(other, never());
    const current = await redis.get(`${PREFIX}:${other}`);
    await releaseOld();
    assert.equal(await redis.get(`${PREFIX}:${other}`), current, "the old holder's release left the new turn alone");
    await releaseNew();
    await release();
  });

  test('a held turn is kept alive past its TTL', async () => {
    const session = randomUUID();
    // Renewed every 200 ms; a busy machine would have to stall the event loop for 400 ms to fail this.
    const keptAlive = redisTurnLock(redis, { prefix: PREFIX, ttlMs: 600, pollMs: 5 });
    const release = await keptAlive.acquire(session, never());
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await redis.exists(`${PREFIX}:${session}`), 1, 'renewed every ttl/3');
    await release();
    assert.equal(await redis.exists(`${PREFIX}:${session}`), 0);
  });
});

test('without Redis, a turn goes ahead and the trouble is reported', async () => {
  const down = new Redis(`redis://127.0.0.1:${await closedPort()}`, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  down.on('error', () => {});
  const reported: unknown[] = [];
  const lock = redisTurnLock(down, { onUnavailable: (error) => reported.push(error) });
  const release = await lock.acquire(randomUUID(), new AbortController().signal);
  await release();
  assert.equal(reported.length, 1);
  down.disconnect();
});
