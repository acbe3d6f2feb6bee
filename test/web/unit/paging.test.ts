/** Session list paging: offsets today, `nextCursor` when the server sends it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FIRST_PAGE, nextPage, Pager, pageParams } from '../../../web/src/sessions/paging.js';

const rows = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('nextPage', () => {
  test('offset paging: the next offset while rows remain, null at the end', () => {
    assert.deepEqual(nextPage({ total: 45, limit: 20, offset: 0, sessions: rows(20) }, FIRST_PAGE), { kind: 'offset', offset: 20 });
    assert.deepEqual(nextPage({ total: 45, limit: 20, offset: 20, sessions: rows(20) }, { kind: 'offset', offset: 20 }), {
      kind: 'offset',
      offset: 40,
    });
    assert.equal(nextPage({ total: 45, limit: 20, offset: 40, sessions: rows(5) }, { kind: 'offset', offset: 40 }), null);
    assert.equal(nextPage({ total: 40, limit: 20, offset: 20, sessions: rows(20) }, { kind: 'offset', offset: 20 }), null);
    // An empty page (the list shrank) never asks for more.
    assert.equal(nextPage({ total: 45, limit: 20, offset: 60, sessions: [] }, { kind: 'offset', offset: 60 }), null);
  });

  test('cursor paging wins whenever the answer carries nextCursor', () => {
    assert.deepEqual(nextPage({ total: 45, limit: 20, offset: 0, nextCursor: 'abc', sessions: rows(20) }, FIRST_PAGE), {
      kind: 'cursor',
      cursor: 'abc',
    });
    assert.equal(
      nextPage({ total: 45, limit: 20, offset: 0, nextCursor: null, sessions: rows(20) }, FIRST_PAGE),
      null,
      'null: the last page, whatever total says',
    );
  });

  test('pageParams', () => {
    assert.deepEqual(pageParams(FIRST_PAGE), { offset: '0' });
    assert.deepEqual(pageParams({ kind: 'cursor', cursor: 'c1' }), { cursor: 'c1' });
  });
});

describe('Pager', () => {
  test('forward and back through offset pages, with the range shown', () => {
    const pager = new Pager();
    pager.answered({ total: 45, limit: 20, offset: 0, sessions: rows(20) });
    assert.equal(pager.range(45), '1–20 of 45');
    assert.equal(pager.hasPrevious, false);
    assert.equal(pager.hasNext, true);
    assert.deepEqual(pager.forward(), { kind: 'offset', offset: 20 });
    pager.answered({ total: 45, limit: 20, offset: 20, sessions: rows(20) });
    assert.deepEqual(pager.forward(), { kind: 'offset', offset: 40 });
    pager.answered({ total: 45, limit: 20, offset: 40, sessions: rows(5) });
    assert.equal(pager.range(45), '41–45 of 45');
    assert.equal(pager.hasNext, false);
    assert.equal(pager.forward(), null);
    assert.deepEqual(pager.back(), { kind: 'offset', offset: 20 });
    assert.deepEqual(pager.back(), FIRST_PAGE);
    assert.equal(pager.back(), null);
  });

  test('forward and back through cursor pages: back repeats the cursors already used', () => {
    const pager = new Pager();
    pager.answered({ total: 50, limit: 20, offset: 0, nextCursor: 'c2', sessions: rows(20) });
    assert.deepEqual(pager.forward(), { kind: 'cursor', cursor: 'c2' });
    pager.answered({ total: 50, limit: 20, offset: 0, nextCursor: 'c3', sessions: rows(20) });
    assert.equal(pager.range(50), '21–40 of 50');
    assert.deepEqual(pager.forward(), { kind: 'cursor', cursor: 'c3' });
    pager.answered({ total: 50, limit: 20, offset: 0, nextCursor: null, sessions: rows(10) });
    assert.equal(pager.range(50), '41–50 of 50');
    assert.equal(pager.hasNext, false);
    assert.deepEqual(pager.back(), { kind: 'cursor', cursor: 'c2' });
    pager.reset();
    assert.deepEqual(pager.current, FIRST_PAGE);
    assert.equal(pager.range(0), '0 of 0');
  });
});
