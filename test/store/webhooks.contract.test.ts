/**
 * The store's webhooks and deliveries (SPEC §11), on SQLite and on PostgreSQL: the outbox rows
 * written with the events, in their transaction; the claim (order per webhook and session,
 * leases, no delivery claimed twice); the delivery log.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { PendingEvent } from '../../src/domain/events.js';
import type { Webhook, WebhookEvents } from '../../src/domain/webhook.js';
import type { Store } from '../../src/store/store.js';
import { backends } from './backends.js';
import { makeSession, T0 } from './fixtures.js';

const pending = (type: PendingEvent['type'], at: number, data: unknown = { at }): PendingEvent => ({ type, at, data });

function makeWebhook(overrides: Partial<Webhook> = {}): Webhook {
  return {
    id: randomUUID(),
    url: 'http://127.0.0.1:9/hook',
    events: ['*'] as WebhookEvents,
    agentId: null,
    secretEnv: null,
    description: '',
    enabled: true,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

const LEASE = 30_000;
const keyOf = (d: { webhookId: string; sessionId: string; seq: number }) => ({
  webhookId: d.webhookId,
  sessionId: d.sessionId,
  seq: d.seq,
});

for (const backend of backends()) {
  describe(`Webhook store contract: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => {});
    after(() => backend.cleanup());
    const fresh = async (): Promise<Store> => (await backend.open()).store;

    test('webhooks: insert, get, list oldest first, update, delete', async () => {
      const store = await fresh();
      const a = makeWebhook({
        events: ['session.created', 'message.created'],
        agentId: randomUUID(),
        secretEnv: 'AGENT_SECRET_HOOK',
        description: 'CRM é 😀',
      });
      const b = makeWebhook({ createdAt: T0 + 1, updatedAt: T0 + 1, enabled: false });
      await store.webhooks.insert(b);
      await store.webhooks.insert(a);
      assert.deepEqual(await store.webhooks.get(a.id), a);
      assert.deepEqual(await store.webhooks.list(), [a, b]);
      const changed = {
        ...a,
        url: 'https://example.test/x',
        events: ['*'] as WebhookEvents,
        agentId: null,
        enabled: false,
        updatedAt: T0 + 5,
      };
      assert.equal(await store.webhooks.update(changed), true);
      assert.deepEqual(await store.webhooks.get(a.id), changed);
      assert.equal(await store.webhooks.update(makeWebhook()), false);
      assert.equal(await store.webhooks.delete(a.id), true);
      assert.equal(await store.webhooks.delete(a.id), false);
      assert.equal(await store.webhooks.get(a.id), undefined);
      assert.deepEqual(await store.webhooks.list(), [b]);
    });

    test('outbox: each stored event queues one delivery per enabled webhook it is for; chunks never', async () => {
      const store = await fresh();
      const session = makeSession();
      const all = makeWebhook();
      const messages = makeWebhook({ events: ['message.created'] });
      const mine = makeWebhook({ agentId: session.agentId, events: ['session.created', 'session.renewed'] });
      const otherAgent = makeWebhook({ agentId: randomUUID() });
      const disabled = makeWebhook({ enabled: false });
      for (const w of [all, messages, mine, otherAgent, disabled]) await store.webhooks.insert(w);

      const created = await store.insertSession(session, undefined, [pending('session.created', T0, { sessionId: session.id })]);
      assert.deepEqual(
        created.map((e) => [e.type, e.seq]),
        [['session.created', 1]],
      );
      await store.appendEvents(session.id, [
        pending('message.created', T0 + 1, { message: { id: 'm1' } }),
        pending('message.chunk', T0 + 2, { messageId: 'm2', chunk: 'x', index: 0 }),
      ]);
      const renewed = { ...session, lastActivity: T0 + 3, lastRenewal: T0 + 3, expiresAt: T0 + 3 + 30 * 60_000, renewalCount: 1 };
      await store.saveSession(renewed, [pending('session.renewed', T0 + 3)]);
      const flags = { warned: false, expiryEmitted: false };
      await store.emitLifecycle([
        {
          sessionId: session.id,
          events: [pending('session.warning', T0 + 4)],
          before: flags,
          after: { warned: true, expiryEmitted: false },
        },
      ]);
      // A read-decide-write (on PostgreSQL one optimistic statement) queues like a save.
      await store.updateSession(session.id, (current) => ({
        next: { ...current!, renewalCount: current!.renewalCount + 1 },
        events: [pending('session.renewed', T0 + 5)],
      }));

      const seen = async (w: Webhook) => (await store.deliveries.list(w.id, { limit: 100 })).map((d) => `${d.seq}:${d.type}`).reverse();
      assert.deepEqual(await seen(all), [
        '1:session.created',
        '2:message.created',
        '4:session.renewed',
        '5:session.warning',
        '6:session.renewed',
      ]);
      assert.deepEqual(await seen(messages), ['2:message.created']);
      assert.deepEqual(await seen(mine), ['1:session.created', '4:session.renewed', '6:session.renewed']);
      assert.deepEqual(await seen(otherAgent), []);
      assert.deepEqual(await seen(disabled), []);

      const [first] = (await store.deliveries.list(all.id, { limit: 100 })).reverse();
      assert.deepEqual(first, {
        webhookId: all.id,
        sessionId: session.id,
        seq: 1,
        type: 'session.created',
        at: T0,
        data: { sessionId: session.id },
        status: 'pending',
        attempts: 0,
        lastStatus: null,
        lastError: null,
        nextAttemptAt: T0,
        deliveredAt: null,
        createdAt: T0,
      });
    });

    test("outbox: a batch of lifecycle events of several agents queues each for its own session's agent", async () => {
      const store = await fresh();
      const a = makeSession();
      const b = makeSession();
      for (const s of [a, b]) await store.insertSession(s, undefined, [pending('session.created', T0)]);
      const all = makeWebhook({ events: ['session.warning', 'session.expired'] });
      const ofA = makeWebhook({ agentId: a.agentId });
      const ofB = makeWebhook({ agentId: b.agentId, events: ['session.expired'] });
      for (const w of [all, ofA, ofB]) await store.webhooks.insert(w);

      const none = { warned: false, expiryEmitted: false };
      const done = { warned: true, expiryEmitted: true };
      const stored = await store.emitLifecycle([
        { sessionId: a.id, events: [pending('session.warning', T0 + 5), pending('session.expired', T0 + 5)], before: none, after: done },
        { sessionId: b.id, events: [pending('session.warning', T0 + 5), pending('session.expired', T0 + 5)], before: none, after: done },
      ]);
      assert.equal(stored.length, 4);

      const seen = async (w: Webhook) =>
        (await store.deliveries.list(w.id, { limit: 100 })).map((d) => `${d.sessionId === a.id ? 'a' : 'b'}:${d.seq}:${d.type}`).sort();
      assert.deepEqual(await seen(all), ['a:2:session.warning', 'a:3:session.expired', 'b:2:session.warning', 'b:3:session.expired']);
      assert.deepEqual(await seen(ofA), ['a:2:session.warning', 'a:3:session.expired']);
      assert.deepEqual(await seen(ofB), ['b:3:session.expired']);
      const [expired] = (await store.deliveries.list(ofB.id, { limit: 100 })).filter((d) => d.type === 'session.expired');
      assert.deepEqual(
        { sessionId: expired!.sessionId, seq: expired!.seq, at: expired!.at, data: expired!.data, status: expired!.status },
        { sessionId: b.id, seq: 3, at: T0 + 5, data: { at: T0 + 5 }, status: 'pending' },
      );
    });

    test('outbox: nothing queued for an event that was rolled back; deliveries outlive their session', async () => {
      const store = await fresh();
      const hook = makeWebhook();
      await store.webhooks.insert(hook);
      const session = makeSession();
      await store.insertSession(session);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.appendEvents(session.id, [pending('message.created', T0 + 1)]);
          throw new Error('rolled back');
        }),
      );
      assert.deepEqual(await store.deliveries.list(hook.id, { limit: 10 }), []);

      await store.transaction(async (tx) => {
        await tx.appendEvents(session.id, [pending('session.ended', T0 + 2, { sessionId: session.id })]);
        await tx.deleteSession(session.id);
      });
      const [ended] = await store.deliveries.list(hook.id, { limit: 10 });
      assert.equal(ended!.type, 'session.ended');
      assert.deepEqual(ended!.data, { sessionId: session.id });
      assert.equal(ended!.seq, 1);
    });

    test('claim: the earliest pending event of each webhook and session, leased; others wait for it', async () => {
      const store = await fresh();
      const hook = makeWebhook();
      await store.webhooks.insert(hook);
      const a = makeSession();
      const b = makeSession();
      await store.insertSession(a);
      await store.insertSession(b);
      await store.appendEvents(a.id, [pending('message.created', T0), pending('message.created', T0), pending('message.created', T0)]);
      await store.appendEvents(b.id, [pending('message.created', T0)]);

      const now = T0 + 10;
      const claimed = await store.deliveries.claim(now, 10, LEASE);
      assert.deepEqual(claimed.map((d) => `${d.sessionId === a.id ? 'a' : 'b'}${d.seq}`).sort(), ['a1', 'b1']);
      assert.ok(claimed.every((d) => d.leaseUntil === now + LEASE && d.leaseId === claimed[0]!.leaseId));
      assert.deepEqual(await store.deliveries.claim(now, 10, LEASE), [], 'leased heads block their sessions');

      const a1 = claimed.find((d) => d.sessionId === a.id)!;
      assert.equal(await store.deliveries.record(keyOf(a1), 'not-my-lease', { status: 'delivered', httpStatus: 200 }, now), false);
      assert.equal(await store.deliveries.record(keyOf(a1), a1.leaseId, { status: 'delivered', httpStatus: 204 }, now + 1), true);
      assert.equal(await store.deliveries.record(keyOf(a1), a1.leaseId, { status: 'delivered', httpStatus: 204 }, now + 1), false, 'once');
      assert.deepEqual(await store.deliveries.claim(now + 2, 10, LEASE, { webhookId: hook.id, sessionId: b.id }), [], 'b1 is still leased');
      const next = await store.deliveries.claim(now + 2, 10, LEASE, { webhookId: hook.id, sessionId: a.id });
      assert.deepEqual(
        next.map((d) => [d.sessionId, d.seq]),
        [[a.id, 2]],
      );

      // A failure that is retried keeps the order: a3 waits for a2's next attempt.
      const a2 = next[0]!;
      assert.equal(
        await store.deliveries.record(
          keyOf(a2),
          a2.leaseId,
          { status: 'pending', httpStatus: 500, error: 'HTTP 500', nextAttemptAt: now + 1000 },
          now + 3,
        ),
        true,
      );
      assert.deepEqual(await store.deliveries.claim(now + 999, 10, LEASE), []);
      assert.equal(await store.deliveries.nextDue(), T0, 'b1 is still leased: its due time is in the past');
      const retry = await store.deliveries.claim(now + 1000, 10, LEASE);
      assert.deepEqual(
        retry.map((d) => [d.sessionId, d.seq, d.attempts, d.lastStatus, d.lastError]),
        [[a.id, 2, 1, 500, 'HTTP 500']],
      );
      // A final failure lets the next event go.
      assert.equal(
        await store.deliveries.record(
          keyOf(retry[0]!),
          retry[0]!.leaseId,
          { status: 'failed', httpStatus: null, error: 'timed out' },
          now + 1001,
        ),
        true,
      );
      assert.deepEqual(
        (await store.deliveries.claim(now + 1002, 10, LEASE)).map((d) => [d.sessionId, d.seq]),
        [[a.id, 3]],
      );

      // The lease of b1 expires (its instance died): another claim takes it over.
      const b1 = claimed.find((d) => d.sessionId === b.id)!;
      const taken = await store.deliveries.claim(now + LEASE, 10, LEASE);
      assert.deepEqual(
        taken.map((d) => [d.sessionId, d.seq]),
        [[b.id, 1]],
      );
      assert.notEqual(taken[0]!.leaseId, b1.leaseId);
      assert.equal(
        await store.deliveries.record(keyOf(b1), b1.leaseId, { status: 'delivered', httpStatus: 200 }, now + LEASE),
        false,
        'the old holder lost it',
      );

      const log = await store.deliveries.list(hook.id, { limit: 10, status: 'delivered' });
      assert.deepEqual(
        log.map((d) => [d.seq, d.status, d.attempts, d.lastStatus, d.deliveredAt]),
        [[1, 'delivered', 1, 204, now + 1]],
      );
      assert.deepEqual(
        (await store.deliveries.list(hook.id, { limit: 10, status: 'failed' })).map((d) => [d.seq, d.attempts]),
        [[2, 2]],
      );
      assert.equal((await store.deliveries.list(hook.id, { limit: 2 })).length, 2);

      // Settled deliveries older than the cutoff leave the log; pending ones stay.
      assert.equal(await store.deliveries.purgeSettled(T0), 0, 'none older than T0');
      assert.equal(await store.deliveries.purgeSettled(T0 + 1), 2, 'a1 delivered, a2 failed');
      assert.deepEqual(
        (await store.deliveries.list(hook.id, { limit: 10 })).map((d) => [d.seq, d.status]).sort(),
        [
          [1, 'pending'],
          [3, 'pending'],
        ].sort(),
      );
    });

    test('claim: a disabled webhook is paused; deleting one drops its deliveries', async () => {
      const store = await fresh();
      const hook = makeWebhook();
      await store.webhooks.insert(hook);
      const s = makeSession();
      await store.insertSession(s);
      await store.appendEvents(s.id, [pending('message.created', T0)]);
      await store.webhooks.update({ ...hook, enabled: false });
      assert.deepEqual(await store.deliveries.claim(T0 + 1, 10, LEASE), []);
      await store.appendEvents(s.id, [pending('message.created', T0 + 1)]);
      assert.equal((await store.deliveries.list(hook.id, { limit: 10 })).length, 1, 'a disabled webhook queues nothing');
      await store.webhooks.update({ ...hook, enabled: true });
      assert.equal((await store.deliveries.claim(T0 + 2, 10, LEASE)).length, 1);
      await store.webhooks.delete(hook.id);
      assert.deepEqual(await store.deliveries.list(hook.id, { limit: 10 }), []);
      assert.equal(await store.deliveries.nextDue(), undefined);
    });

    test('settle: records a batch, and claims the next delivery of each lane it settled, in one go', async () => {
      const store = await fresh();
      const hook = makeWebhook({ secretEnv: 'AGENT_SECRET_SETTLE' });
      await store.webhooks.insert(hook);
      // Five lanes: delivered, finally failed, retried, lease lost, delivered with nothing after it.
      const sessions = Array.from({ length: 5 }, () => makeSession());
      for (const s of sessions) await store.insertSession(s);
      for (const s of sessions.slice(0, 4)) {
        await store.appendEvents(s.id, [
          pending('message.created', T0),
          pending('message.created', T0 + 1),
          pending('message.created', T0 + 2),
        ]);
      }
      await store.appendEvents(sessions[4]!.id, [pending('message.created', T0)]);
      const now = T0 + 10;
      const heads = await store.deliveries.claim(now, 10, LEASE);
      const head = (i: number) => heads.find((d) => d.sessionId === sessions[i]!.id)!;
      assert.equal(heads.length, 5);
      assert.ok(heads.every((d) => d.seq === 1));

      const at = now + 5;
      const settled = await store.deliveries.settle(
        [
          { key: keyOf(head(0)), leaseId: head(0).leaseId, outcome: { status: 'delivered', httpStatus: 204 }, at },
          { key: keyOf(head(1)), leaseId: head(1).leaseId, outcome: { status: 'failed', httpStatus: 410, error: 'HTTP 410' }, at },
          {
            key: keyOf(head(2)),
            leaseId: head(2).leaseId,
            outcome: { status: 'pending', httpStatus: null, error: 'no answer within 10 s', nextAttemptAt: at + 1000 },
            at,
          },
          { key: keyOf(head(3)), leaseId: 'somebody-else', outcome: { status: 'delivered', httpStatus: 200 }, at },
          { key: keyOf(head(4)), leaseId: head(4).leaseId, outcome: { status: 'delivered', httpStatus: 200 }, at },
        ],
        at + 1,
        LEASE,
        true,
      );
      assert.deepEqual(
        settled.map((s) => s.recorded),
        [true, true, true, false, true],
      );
      assert.deepEqual(
        settled.map((s) => s.next && [s.next.sessionId, s.next.seq]),
        [[sessions[0]!.id, 2], [sessions[1]!.id, 2], undefined, undefined, undefined],
        'the settled lanes (and only those) got their next delivery',
      );
      const next = settled[0]!.next!;
      assert.deepEqual(
        { ...next, leaseId: typeof next.leaseId },
        {
          webhookId: hook.id,
          sessionId: sessions[0]!.id,
          seq: 2,
          type: 'message.created',
          at: T0 + 1,
          data: { at: T0 + 1 },
          status: 'pending',
          attempts: 0,
          lastStatus: null,
          lastError: null,
          nextAttemptAt: T0 + 1,
          deliveredAt: null,
          createdAt: T0 + 1,
          leaseId: 'string',
          leaseUntil: at + 1 + LEASE,
          url: hook.url,
          secretEnv: 'AGENT_SECRET_SETTLE',
        },
      );
      assert.equal(settled[1]!.next!.leaseId, next.leaseId, 'one lease for the batch');

      // Stored as `record` stores; the next ones are leased, the retried lane waits for its head.
      const stored = new Map((await store.deliveries.list(hook.id, { limit: 100 })).map((d) => [`${d.sessionId}:${d.seq}`, d]));
      const view = (i: number, seq: number) => {
        const d = stored.get(`${sessions[i]!.id}:${seq}`)!;
        return [d.status, d.attempts, d.lastStatus, d.lastError, d.nextAttemptAt, d.deliveredAt];
      };
      assert.deepEqual(view(0, 1), ['delivered', 1, 204, null, T0, at]);
      assert.deepEqual(view(1, 1), ['failed', 1, 410, 'HTTP 410', T0, null]);
      assert.deepEqual(view(2, 1), ['pending', 1, null, 'no answer within 10 s', at + 1000, null]);
      assert.deepEqual(view(3, 1), ['pending', 0, null, null, T0, null], 'a lost lease writes nothing');
      assert.deepEqual(view(4, 1), ['delivered', 1, 200, null, T0, at]);
      assert.deepEqual(await store.deliveries.claim(at + 2, 10, LEASE), [], 'the next ones are leased, lane 2 waits, lane 3 is held');

      // The holder of a next one records it in turn, and the lane goes on.
      const [third] = await store.deliveries.settle(
        [{ key: keyOf(next), leaseId: next.leaseId, outcome: { status: 'delivered', httpStatus: 200 }, at: at + 3 }],
        at + 3,
        LEASE,
        true,
      );
      assert.deepEqual([third!.recorded, third!.next?.seq], [true, 3]);
    });

    test('settle: without claimNext, or when the next delivery is not due or its webhook disabled, nothing is claimed', async () => {
      const store = await fresh();
      const hook = makeWebhook();
      await store.webhooks.insert(hook);
      const s = makeSession();
      await store.insertSession(s);
      await store.appendEvents(s.id, [pending('message.created', T0), pending('message.created', T0 + 1)]);
      const delivered = (d: { leaseId: string } & Parameters<typeof keyOf>[0], at: number) => ({
        key: keyOf(d),
        leaseId: d.leaseId,
        outcome: { status: 'delivered', httpStatus: 200 } as const,
        at,
      });

      const [first] = await store.deliveries.claim(T0 + 10, 10, LEASE);
      const [done] = await store.deliveries.settle([delivered(first!, T0 + 11)], T0 + 11, LEASE, false);
      assert.deepEqual(done, { recorded: true, next: undefined });
      const [second] = await store.deliveries.claim(T0 + 12, 10, LEASE);
      assert.equal(second!.seq, 2, 'the next one is left for a claim');

      // A third event due only later (as a retry would be), behind the second.
      await store.appendEvents(s.id, [pending('message.created', T0 + 100)]);
      const [early] = await store.deliveries.settle([delivered(second!, T0 + 13)], T0 + 13, LEASE, true);
      assert.deepEqual(early, { recorded: true, next: undefined }, 'not due yet');

      await store.appendEvents(s.id, [pending('message.created', T0 + 14)]);
      const [third] = await store.deliveries.claim(T0 + 100, 10, LEASE);
      assert.equal(third!.seq, 3);
      await store.webhooks.update({ ...hook, enabled: false });
      const [paused] = await store.deliveries.settle([delivered(third!, T0 + 101)], T0 + 101, LEASE, true);
      assert.deepEqual(paused, { recorded: true, next: undefined }, 'a disabled webhook is paused');
      assert.deepEqual(await store.deliveries.settle([], T0 + 102, LEASE, true), []);
    });

    test('claims made at the same moment never share a delivery', async () => {
      const store = await fresh();
      const hooks = [makeWebhook(), makeWebhook()];
      for (const h of hooks) await store.webhooks.insert(h);
      const sessions = Array.from({ length: 20 }, () => makeSession());
      for (const s of sessions) {
        await store.insertSession(s);
        await store.appendEvents(s.id, [pending('message.created', T0)]);
      }
      const rounds = await Promise.all(Array.from({ length: 8 }, () => store.deliveries.claim(T0 + 1, 7, LEASE)));
      // A claim may come back short when it skipped rows another was locking: a later one gets them.
      const rest = await store.deliveries.claim(T0 + 1, 100, LEASE);
      const keys = [...rounds.flat(), ...rest].map((d) => `${d.webhookId}/${d.sessionId}/${d.seq}`);
      assert.equal(new Set(keys).size, keys.length, 'no delivery claimed twice');
      assert.equal(keys.length, 40, 'every due delivery claimed once');
    });
  });
}
