/** Message ordering and de-duplication, whatever way and order messages arrive in. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MessageView } from '../../../web/src/api/types.js';
import { MessageLog } from '../../../web/src/chat/message-log.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const message = (n: number, isAgent = n % 2 === 0): MessageView => ({
  id: `m${n}`,
  content: `message ${n}`,
  authorId: isAgent ? 'agent' : 'user',
  isAgent,
  createdAt: new Date(T0 + n * 1000).toISOString(),
  metadata: {},
  attachments: [],
});

/** Applies placements to a plain array the way the view does with list items. */
function render(log: MessageLog, shown: string[], placement: ReturnType<MessageLog['upsert']> | undefined): void {
  if (!placement) return;
  const at = shown.indexOf(placement.entry.id);
  if (placement.moved) {
    if (at >= 0) shown.splice(at, 1);
    const before = placement.before === null ? shown.length : shown.indexOf(placement.before);
    shown.splice(before, 0, placement.entry.id);
  }
  assert.deepEqual(shown, log.ids(), 'the rendered order follows the log');
}

describe('MessageLog', () => {
  test('history pages, newest first and newest page first, end up oldest first, each once', () => {
    const log = new MessageLog();
    const shown: string[] = [];
    const all = Array.from({ length: 300 }, (_, i) => message(i + 1));
    for (let end = 300; end > 0; end -= 50) {
      const page = all.slice(Math.max(0, end - 50), end).reverse();
      for (const m of page) render(log, shown, log.upsert(m));
    }
    assert.deepEqual(
      log.ids(),
      all.map((m) => m.id),
    );
    assert.equal(log.size, 300);
  });

  test('a message seen again (event replay, a second page) is not added twice', () => {
    const log = new MessageLog();
    const first = log.upsert(message(1));
    assert.equal(first.added, true);
    const again = log.upsert({ ...message(1), content: 'message 1' });
    assert.equal(again.added, false);
    assert.equal(again.moved, false);
    assert.deepEqual(log.ids(), ['m1']);
  });

  test('messages arriving out of order are placed by createdAt', () => {
    const log = new MessageLog();
    const shown: string[] = [];
    for (const n of [5, 1, 3, 2, 4]) render(log, shown, log.upsert(message(n)));
    assert.deepEqual(shown, ['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  test('a streamed reply grows chunk by chunk, stays last, and becomes the stored message once', () => {
    const log = new MessageLog();
    const shown: string[] = [];
    render(log, shown, log.upsert(message(1, false)));
    render(log, shown, log.chunk('reply', 0, 'Hel'));
    render(log, shown, log.chunk('reply', 2, ' there'));
    render(log, shown, log.chunk('reply', 1, 'lo'));
    assert.equal(log.get('reply')!.content, 'Hello there');
    assert.equal(log.streaming, true);
    // Another message stored meanwhile goes before the reply that is still streaming.
    render(log, shown, log.upsert(message(2, false)));
    assert.deepEqual(shown, ['m1', 'm2', 'reply']);
    const stored = log.upsert({ ...message(3, true), id: 'reply', content: 'Hello there' });
    render(log, shown, stored);
    assert.equal(stored.added, false);
    assert.equal(log.streaming, false);
    assert.deepEqual(shown, ['m1', 'm2', 'reply']);
    // Late chunks of a stored reply change nothing.
    assert.equal(log.chunk('reply', 3, '!!'), undefined);
    assert.equal(log.get('reply')!.content, 'Hello there');
  });

  test('a failed stream is kept, marked failed, no longer streaming', () => {
    const log = new MessageLog();
    log.chunk('r', 0, 'partial');
    const entry = log.fail('r');
    assert.equal(entry?.failed, true);
    assert.equal(log.streaming, false);
    assert.equal(log.fail('unknown'), undefined);
  });

  test('bad chunk indexes are ignored', () => {
    const log = new MessageLog();
    assert.equal(log.chunk('r', -1, 'x'), undefined);
    assert.equal(log.chunk('r', 1.5, 'x'), undefined);
    assert.equal(log.size, 0);
  });

  test('live messages older than the history floor are left to paging', () => {
    const log = new MessageLog();
    log.floor = T0 + 10_000;
    assert.equal(log.acceptsLive(message(9)), false);
    assert.equal(log.acceptsLive(message(10)), true);
    log.floor = null;
    assert.equal(log.acceptsLive(message(1)), true);
  });
});
