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
import { eventually, sleep } from '../support/wait.js';
import { freePort } from '../support/ports.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `test:turn:${randomUUID()}`;

/**
 * The same Redis, with every `SET … NX` of the lock written down in `log` as `<who> took` or
 * `<who> refused`: what each contender tried and got is observable, in order.
 */
function recorded(redis: Redis, log: string[], who: string): Redis {
  const set = redis.set.bind(redis) as (...args: unknown[]) => Promise<string | null>;
  return new Proxy(redis, {
    get(target, property, receiver) {
      if (property !== 'set') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: unknown[]) => {
        const answer = await set(...args);
        log.push(`${who} ${answer === 'OK' ? 'took' : 'refused'}`);
        return answer;
      };
    },
  });
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

  test('one turn per session at a time; the next starts only after it is released', async () => {
    const session = randomUUID();
    const key = `${PREFIX}:${session}`;
    const log: string[] = [];
    const contender = (who: string) => redisTurnLock(recorded(redis, log, who), { prefix: PREFIX, pollMs: 5 });
    const [first, second, third] = [contender('first'), contender('second'), contender('third')];

    const releaseFirst = await first.acquire(session, never());
    assert.ok((await redis.pttl(key)) > 0, 'the lock has a TTL');
    const secondTurn = second.acquire(session, never()).then((release) => {
      log.push('second holds');
      return release;
    });
    // The waiter asked, and was refused, several times while the first held the turn.
    await eventually(() => log.filter((e) => e === 'second refused').length >= 3, 'the second contender refused three times');
    assert.equal(log.includes('second holds'), false);
    log.push('first releases');
    await releaseFirst();
    const releaseSecond = await secondTurn;
    const released = log.indexOf('first releases');
    assert.deepEqual(
      log.slice(0, released).filter((e) => e !== 'second refused'),
      ['first took'],
      'nobody took the turn while the first held it',
    );
    assert.deepEqual(
      log.slice(released).filter((e) => e !== 'second refused'),
      ['first releases', 'second took', 'second holds'],
      'the second took it once it was released',
    );

    // Now the second holds it: a third contender is refused until it gives up.
    const giveUp = new AbortController();
    const thirdTurn = third.acquire(session, giveUp.signal);
    await eventually(() => log.includes('third refused'), 'the third contender refused');
    giveUp.abort(new Error('gave up'));
    await assert.rejects(thirdTurn, /gave up/);
    assert.equal(log.includes('third took'), false);
    await releaseSecond();
    assert.equal(await redis.exists(key), 0, 'released');
  });

  test('other sessions do not wait', async () => {
    const log: string[] = [];
    const observed = redisTurnLock(recorded(redis, log, 'x'), { prefix: PREFIX, pollMs: 5 });
    const release = await observed.acquire(randomUUID(), never());
    const other = await observed.acquire(randomUUID(), never());
    assert.deepEqual(log, ['x took', 'x took'], 'each session taken at the first try');
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
    await sleep(1500);
    assert.equal(await redis.exists(`${PREFIX}:${session}`), 1, 'renewed every ttl/3');
    await release();
    assert.equal(await redis.exists(`${PREFIX}:${session}`), 0);
  });
});

test('without Redis, a turn goes ahead and the trouble is reported', async () => {
  const down = new Redis(`redis://127.0.0.1:${await freePort()}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  down.on('error', () => {});
  const reported: unknown[] = [];
  const lock = redisTurnLock(down, { onUnavailable: (error) => reported.push(error) });
  const release = await lock.acquire(randomUUID(), new AbortController().signal);
  await release();
  assert.equal(reported.length, 1);
  down.disconnect();
});
