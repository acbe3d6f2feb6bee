/**
 * Message history paging (SPEC §4 "Message history"). `createdAt` is strictly increasing within
 * a session, so a timestamp is an exact cursor. The store fetches `limit + 1` rows in the order
 * this plan names; the extra row only tells whether more remain.
 */
import type { Message } from './message.js';

export interface HistoryQuery {
  limit: number;
  before?: number;
  after?: number;
}

export interface HistoryPlan {
  before?: number;
  after?: number;
  /** `asc` only for an `after`-only query: the oldest messages newer than the cursor. */
  order: 'asc' | 'desc';
  fetch: number;
}

export interface HistoryPage {
  messages: Message[];
  hasMore: boolean;
  cursors: { before: number | null; after: number | null };
}

export function planHistory(query: HistoryQuery): HistoryPlan {
  const readsForward = query.after !== undefined && query.before === undefined;
  return {
    before: query.before,
    after: query.after,
    order: readsForward ? 'asc' : 'desc',
    fetch: query.limit + 1,
  };
}

/** Turns the rows fetched for `planHistory(query)` into the page, newest first. */
export function shapeHistoryPage(rows: Message[], query: HistoryQuery): HistoryPage {
  const plan = planHistory(query);
  const hasMore = rows.length > query.limit;
  const page = rows.slice(0, query.limit);
  if (plan.order === 'asc') page.reverse();
  const newest = page[0];
  const oldest = page[page.length - 1];
  return {
    messages: page,
    hasMore,
    cursors: {
      before: oldest ? oldest.createdAt : (query.before ?? null),
      after: newest ? newest.createdAt : (query.after ?? null),
    },
  };
}
