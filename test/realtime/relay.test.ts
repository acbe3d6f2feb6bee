/** OrderedRelay: a failed read of the gap (the store away) does not stop later deliveries. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionEvent } from '../../src/domain/events.js';
import { OrderedRelay } from '../../src/realtime/relay.js';

const event = (seq: number): SessionEvent =>
  ({ type: 'session.renewed', sessionId: 's', seq, at: seq, data: {} }) as unknown as SessionEvent;

test('after a failed catch-up, the next one reads the gap and delivers it in order, once', async () => {
  const stored = [event(1), event(2), event(3)];
  let storeUp = false;
  const delivered: number[] = [];
  const relay = new OrderedRelay(
    async (after, limit) => {
      if (!storeUp) throw new Error('Connection terminated unexpectedly');
      return stored.filter((e) => e.seq > after).slice(0, limit);
    },
    (e) => delivered.push(e.seq),
    0,
  );
  await assert.rejects(relay.catchUp());
  relay.live(event(2)); // ahead of a gap: reads the store, which is still away
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(delivered, []);
  storeUp = true;
  await relay.catchUp();
  assert.deepEqual(delivered, [1, 2, 3]);
  relay.live(event(3));
  relay.live(event(4));
  assert.deepEqual(delivered, [1, 2, 3, 4]);
});
