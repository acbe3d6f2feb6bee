/**
 * What the PostgreSQL store keeps to write on (WriteBases) and the turns of its writes to one
 * session (SessionTurns), on their own; the store with them is the updateSession contract suite.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionTurns } from '../../src/store/postgres/session-turns.js';
import { WriteBases } from '../../src/store/postgres/write-bases.js';
import { makeSession } from './fixtures.js';

describe('WriteBases', () => {
  test('keeps the state with its version; only a newer version replaces it', () => {
    const bases = new WriteBases();
    const s = makeSession();
    bases.remember(s, 3);
    assert.deepEqual(bases.get(s.id), { session: s, version: 3 });
    const older = { ...s, renewalCount: 1 };
    bases.remember(older, 2);
    assert.deepEqual(bases.get(s.id), { session: s, version: 3 }, 'a read that raced a write cannot put the older state back');
    const newer = { ...s, renewalCount: 2 };
    bases.remember(newer, 4);
    assert.deepEqual(bases.get(s.id), { session: newer, version: 4 });
    bases.forget(s.id);
    assert.equal(bases.get(s.id), undefined);
  });

  test('bounded: the entry written longest ago goes first', () => {
    const bases = new WriteBases(2);
    const [x, y, z] = [makeSession(), makeSession(), makeSession()];
    bases.remember(x, 0);
    bases.remember(y, 0);
    bases.remember(x, 1);
    bases.remember(z, 0);
    assert.equal(bases.size, 2);
    assert.equal(bases.get(y.id), undefined);
    assert.equal(bases.get(x.id)?.version, 1);
    assert.equal(bases.get(z.id)?.version, 0);
  });
});

describe('SessionTurns', () => {
  /** A piece of work that finishes when told to, recording its start and end. */
  function step(log: string[], name: string) {
    let finish!: (value: string) => void;
    let fail!: (error: Error) => void;
    const done = new Promise<string>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const work = () => {
      log.push(`start ${name}`);
      return done.then((value) => {
        log.push(`end ${name}`);
        return value;
      });
    };
    return { work, finish: () => finish(name), fail: () => fail(new Error(name)) };
  }

  const ticks = () => new Promise<void>((resolve) => setImmediate(resolve));

  test('one session: one write at a time, in order, a failure not blocking the next', async () => {
    const turns = new SessionTurns();
    const log: string[] = [];
    const [p, q, r] = [step(log, 'p'), step(log, 'q'), step(log, 'r')];
    const results = [turns.run('s', p.work), turns.run('s', q.work), turns.run('s', r.work)];
    await ticks();
    assert.deepEqual(log, ['start p']);
    p.fail();
    await assert.rejects(results[0]!, /p/);
    await ticks();
    assert.deepEqual(log, ['start p', 'start q']);
    q.finish();
    assert.equal(await results[1], 'q');
    r.finish();
    assert.equal(await results[2], 'r');
    assert.deepEqual(log, ['start p', 'start q', 'end q', 'start r', 'end r']);
    await ticks();
    assert.equal(turns.size, 0, 'nothing kept once the writes are done');
  });

  test('different sessions do not wait for each other', async () => {
    const turns = new SessionTurns();
    const log: string[] = [];
    const [p, q] = [step(log, 'p'), step(log, 'q')];
    const results = [turns.run('s1', p.work), turns.run('s2', q.work)];
    await ticks();
    assert.deepEqual(log, ['start p', 'start q']);
    q.finish();
    assert.equal(await results[1], 'q');
    p.finish();
    assert.equal(await results[0], 'p');
  });
});
