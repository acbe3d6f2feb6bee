/**
 * SPEC §4 "Message history": the plan the store runs and the page built from its rows. The store
 * is simulated here by an in-memory filter that follows the plan exactly, so whole paging walks
 * can be checked as well as single pages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planHistory, shapeHistoryPage, type HistoryPlan, type HistoryQuery } from '../../src/domain/history.js';
import type { Message } from '../../src/domain/message.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function message(i: number): Message {
  return {
    id: `m${i}`,
    sessionId: 's',
    content: `message ${i}`,
    authorId: 'u',
    isAgent: i % 2 === 0,
    createdAt: T0 + i * 1000,
    metadata: {},
    attachments: [],
    inReplyTo: null,
  };
}

/** Messages m1..m10 at T0+1s..T0+10s. */
const ALL = Array.from({ length: 10 }, (_, i) => message(i + 1));
const at = (i: number) => T0 + i * 1000;
const ids = (messages: Message[]) => messages.map((m) => m.id);

/** What the store does with a plan. */
function fetchRows(plan: HistoryPlan): Message[] {
  const rows = ALL.filter(
    (m) => (plan.before === undefined || m.createdAt < plan.before) && (plan.after === undefined || m.createdAt > plan.after),
  ).sort((a, b) => (plan.order === 'asc' ? a.createdAt - b.createdAt : b.createdAt - a.createdAt));
  return rows.slice(0, plan.fetch);
}

const page = (query: HistoryQuery) => shapeHistoryPage(fetchRows(planHistory(query)), query);

describe('planHistory', () => {
  test('no cursor: newest first, limit + 1', () => {
    assert.deepEqual(planHistory({ limit: 50 }), { before: undefined, after: undefined, order: 'desc', fetch: 51 });
  });

  test('before only: descending', () => {
    assert.deepEqual(planHistory({ limit: 3, before: at(5) }), { before: at(5), after: undefined, order: 'desc', fetch: 4 });
  });

  test('after only: ascending (the oldest newer than the cursor)', () => {
    assert.deepEqual(planHistory({ limit: 3, after: at(5) }), { before: undefined, after: at(5), order: 'asc', fetch: 4 });
  });

  test('both: descending', () => {
    assert.deepEqual(planHistory({ limit: 3, before: at(9), after: at(2) }), {
      before: at(9),
      after: at(2),
      order: 'desc',
      fetch: 4,
    });
  });

  test('cursor 0 is a cursor, not absent', () => {
    assert.equal(planHistory({ limit: 1, after: 0 }).order, 'asc');
    assert.equal(planHistory({ limit: 1, after: 0 }).after, 0);
  });
});

describe('shapeHistoryPage', () => {
  test('no cursor, everything fits: newest first, no more', () => {
    assert.deepEqual(page({ limit: 50 }), {
      messages: [...ALL].reverse(),
      hasMore: false,
      cursors: { before: at(1), after: at(10) },
    });
  });

  test('no cursor, limit smaller: the newest limit, hasMore', () => {
    const result = page({ limit: 3 });
    assert.deepEqual(ids(result.messages), ['m10', 'm9', 'm8']);
    assert.equal(result.hasMore, true);
    assert.deepEqual(result.cursors, { before: at(8), after: at(10) });
  });

  test('limit exactly the count: hasMore false (the extra row decides)', () => {
    const result = page({ limit: 10 });
    assert.equal(result.messages.length, 10);
    assert.equal(result.hasMore, false);
  });

  test('before only: the newest limit older than T, hasMore when older remain', () => {
    const result = page({ limit: 3, before: at(6) });
    assert.deepEqual(ids(result.messages), ['m5', 'm4', 'm3']);
    assert.equal(result.hasMore, true);
    assert.deepEqual(result.cursors, { before: at(3), after: at(5) });
  });

  test('before only, exactly limit older messages: hasMore false', () => {
    const result = page({ limit: 3, before: at(4) });
    assert.deepEqual(ids(result.messages), ['m3', 'm2', 'm1']);
    assert.equal(result.hasMore, false);
  });

  test('before is exclusive', () => {
    assert.deepEqual(ids(page({ limit: 1, before: at(5) }).messages), ['m4']);
    assert.deepEqual(ids(page({ limit: 1, before: at(5) + 1 }).messages), ['m5']);
  });

  test('after only: the oldest limit newer than T, returned newest first', () => {
    const result = page({ limit: 3, after: at(2) });
    assert.deepEqual(ids(result.messages), ['m5', 'm4', 'm3']);
    assert.equal(result.hasMore, true);
    assert.deepEqual(result.cursors, { before: at(3), after: at(5) });
  });

  test('after only, exactly limit newer messages: hasMore false', () => {
    const result = page({ limit: 3, after: at(7) });
    assert.deepEqual(ids(result.messages), ['m10', 'm9', 'm8']);
    assert.equal(result.hasMore, false);
    assert.deepEqual(result.cursors, { before: at(8), after: at(10) });
  });

  test('after is exclusive', () => {
    assert.deepEqual(ids(page({ limit: 1, after: at(5) }).messages), ['m6']);
    assert.deepEqual(ids(page({ limit: 1, after: at(5) - 1 }).messages), ['m5']);
  });

  test('both: the newest limit strictly between, hasMore when older remain in the range', () => {
    const result = page({ limit: 3, before: at(9), after: at(2) });
    assert.deepEqual(ids(result.messages), ['m8', 'm7', 'm6']);
    assert.equal(result.hasMore, true);
    assert.deepEqual(result.cursors, { before: at(6), after: at(8) });
  });

  test('both, the range fits: hasMore false even though older messages exist outside it', () => {
    const result = page({ limit: 3, before: at(7), after: at(3) });
    assert.deepEqual(ids(result.messages), ['m6', 'm5', 'm4']);
    assert.equal(result.hasMore, false);
  });

  test('empty page with no cursors: cursors null', () => {
    assert.deepEqual(shapeHistoryPage([], { limit: 5 }), {
      messages: [],
      hasMore: false,
      cursors: { before: null, after: null },
    });
  });

  test('empty page repeats the request values', () => {
    assert.deepEqual(page({ limit: 5, before: at(1) }), {
      messages: [],
      hasMore: false,
      cursors: { before: at(1), after: null },
    });
    assert.deepEqual(page({ limit: 5, after: at(10) }), {
      messages: [],
      hasMore: false,
      cursors: { before: null, after: at(10) },
    });
    assert.deepEqual(page({ limit: 5, before: at(4), after: at(3) }), {
      messages: [],
      hasMore: false,
      cursors: { before: at(4), after: at(3) },
    });
  });

  test('a single message: both cursors are its createdAt', () => {
    const result = page({ limit: 1, before: at(2) });
    assert.deepEqual(result, { messages: [ALL[0]], hasMore: false, cursors: { before: at(1), after: at(1) } });
  });

  test('does not mutate the rows it was given', () => {
    const rows = fetchRows(planHistory({ limit: 3, after: at(2) }));
    const before = ids(rows);
    shapeHistoryPage(rows, { limit: 3, after: at(2) });
    assert.deepEqual(ids(rows), before);
  });

  test('paging backwards with before=cursors.before visits every message exactly once', () => {
    const seen: string[] = [];
    let result = page({ limit: 3 });
    seen.push(...ids(result.messages));
    while (result.hasMore) {
      result = page({ limit: 3, before: result.cursors.before! });
      seen.push(...ids(result.messages));
    }
    assert.deepEqual(seen, ids([...ALL].reverse()));
  });

  test('reading forward with after=cursors.after visits every message exactly once', () => {
    const seen: string[] = [];
    let result = page({ limit: 4, after: 0 });
    seen.push(...ids(result.messages).reverse());
    while (result.hasMore) {
      result = page({ limit: 4, after: result.cursors.after! });
      seen.push(...ids(result.messages).reverse());
    }
    assert.deepEqual(seen, ids(ALL));
    // Caught up: the next read is empty and keeps the cursor.
    assert.deepEqual(page({ limit: 4, after: result.cursors.after! }).cursors, { before: null, after: at(10) });
  });
});
