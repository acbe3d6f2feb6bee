/**
 * The Store contract: one suite, run against SQLite and PostgreSQL through the `Store`
 * interface only. Most cases share one store and keep apart by fresh ids; the cases that count
 * across the whole store (agents, health, purges) open a store of their own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Agent } from '../../src/domain/agent.js';
import type { PendingEvent, SessionEvent } from '../../src/domain/events.js';
import { planHistory, shapeHistoryPage, type HistoryQuery } from '../../src/domain/history.js';
import type { Message } from '../../src/domain/message.js';
import type { Session } from '../../src/domain/session.js';
import type { IdempotencyRecord, SessionListQuery, Store } from '../../src/store/store.js';
import { backends } from './backends.js';
import { CONFIG, makeSession, MIN, T0, YEAR_2100 } from './fixtures.js';

function makeMessage(sessionId: string, createdAt: number, overrides: Partial<Message> = {}): Message {
  return {
    id: randomUUID(),
    sessionId,
    content: `message at ${createdAt}`,
    authorId: randomUUID(),
    isAgent: false,
    createdAt,
    metadata: {},
    attachments: [],
    inReplyTo: null,
    ...overrides,
  };
}

function makeAgent(overrides: Partial<Agent> = {}): Agent {
  return {
    id: randomUUID(),
    name: 'Agent',
    system: 'You are helpful.',
    provider: { type: 'eliza' },
    sessionDefaults: {},
    metadata: {},
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function makeRecord(sessionId: string, overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    sessionId,
    key: `key-${randomUUID()}`,
    requestHash: 'sha256:abc',
    messageId: randomUUID(),
    completed: false,
    createdAt: T0,
    ...overrides,
  };
}

const pending = (type: PendingEvent['type'], at: number, data: unknown = { at }): PendingEvent => ({ type, at, data });

const ids = (items: Array<{ id: string }>) => items.map((item) => item.id);
const sorted = (values: string[]) => [...values].sort();

/** A session with one message, one event and one idempotency key, to see what a delete takes. */
async function sessionWithDependents(store: Store, overrides: Partial<Session> = {}) {
  const session = makeSession(overrides);
  await store.insertSession(session);
  const message = makeMessage(session.id, session.createdAt + 1);
  await store.insertMessage(message);
  const [event] = await store.appendEvents(session.id, [pending('message.created', session.createdAt + 1)]);
  const record = makeRecord(session.id, { messageId: message.id });
  await store.insertIdempotencyRecord(record);
  return { session, message, event: event!, record };
}

async function assertDependentsGone(store: Store, d: Awaited<ReturnType<typeof sessionWithDependents>>) {
  assert.equal(await store.getSession(d.session.id), undefined);
  assert.equal(await store.getMessage(d.message.id), undefined);
  assert.deepEqual(await store.listMessages(d.session.id, planHistory({ limit: 10 })), []);
  assert.deepEqual(await store.eventsAfter(d.session.id, 0, 100), []);
  assert.equal(await store.getIdempotencyRecord(d.session.id, d.record.key), undefined);
}

async function assertDependentsKept(store: Store, d: Awaited<ReturnType<typeof sessionWithDependents>>) {
  assert.deepEqual(await store.getSession(d.session.id), d.session);
  assert.deepEqual(await store.getMessage(d.message.id), d.message);
  assert.deepEqual(await store.eventsAfter(d.session.id, 0, 100), [d.event]);
  assert.deepEqual(await store.getIdempotencyRecord(d.session.id, d.record.key), d.record);
}

for (const backend of backends()) {
  describe(`Store contract: ${backend.name}`, { skip: backend.skip }, () => {
    let store: Store;

    before(async () => {
      store = (await backend.open()).store;
    });
    after(() => backend.cleanup());

    /** A store of the test's own, for cases that count over every row. */
    const freshStore = async () => (await backend.open()).store;

    // ---- set-up ----------------------------------------------------------------------------

    test('dialect, migrate and ping', async () => {
      assert.equal(store.dialect, backend.name);
      const { store: fresh, migrated } = await backend.open();
      assert.ok(migrated.includes('001-initial'), `migrated: ${migrated.join(', ')}`);
      assert.deepEqual(await fresh.migrate(), [], 'a second migrate has nothing to do');
      await fresh.ping();
      await store.ping();
    });

    // ---- agents ----------------------------------------------------------------------------

    test('agents: insert, get, list, update, delete, count', async () => {
      const own = await freshStore();
      assert.equal(await own.countAgents(), 0);
      assert.deepEqual(await own.listAgents(), []);

      const eliza = makeAgent({ name: 'Eliza', createdAt: T0 + 2, updatedAt: T0 + 2 });
      const openai = makeAgent({
        name: 'Assistant ✨',
        system: 'Be brief.\nUse "quotes" and émojis 😀',
        provider: {
          type: 'openai',
          baseUrl: 'https://api.example.com/v1',
          model: 'gpt-x',
          apiKeyEnv: 'KEY',
          temperature: 0.2,
          maxTokens: 500,
        },
        sessionDefaults: { timeoutMinutes: 60, autoRenew: false },
        metadata: { team: 'support', tags: ['a', 'b'], nested: { level: 2, ok: true, none: null } },
        createdAt: T0 + 1,
        updatedAt: YEAR_2100,
      });
      const webhook = makeAgent({
        id: '00000000-0000-4000-8000-000000000001',
        provider: { type: 'webhook', url: 'https://hooks.example.com/reply', secretEnv: 'HOOK_SECRET', timeoutMs: 5000 },
        createdAt: T0 + 1,
      });
      for (const agent of [eliza, openai, webhook]) await own.insertAgent(agent);

      assert.equal(await own.countAgents(), 3);
      assert.deepEqual(await own.getAgent(openai.id), openai);
      assert.deepEqual(await own.getAgent(webhook.id), webhook);
      assert.equal(await own.getAgent(randomUUID()), undefined);
      // Oldest first, ties by id.
      const tied = sorted([openai.id, webhook.id]);
      assert.deepEqual(ids(await own.listAgents()), [...tied, eliza.id]);
      assert.deepEqual(await own.listAgents(), [...tied.map((id) => (id === openai.id ? openai : webhook)), eliza]);

      await assert.rejects(own.insertAgent({ ...eliza, name: 'duplicate' }), 'a duplicate id is refused');

      const changed: Agent = {
        ...eliza,
        name: 'Eliza 2',
        system: 'changed',
        provider: { type: 'webhook', url: 'https://x.example.com' },
        sessionDefaults: { warningThresholdMinutes: 10 },
        metadata: { v: 2 },
        updatedAt: T0 + 10 * MIN,
      };
      await own.updateAgent(changed);
      assert.deepEqual(await own.getAgent(eliza.id), changed);
      await own.updateAgent({ ...changed, createdAt: T0 + 99 * MIN });
      assert.equal((await own.getAgent(eliza.id))!.createdAt, eliza.createdAt, 'createdAt never changes');

      assert.equal(await own.deleteAgent(eliza.id), true);
      assert.equal(await own.deleteAgent(eliza.id), false);
      assert.equal(await own.getAgent(eliza.id), undefined);
      assert.equal(await own.countAgents(), 2);
    });

    test('activeSessionIdsOfAgent: only the agent sessions not yet expired', async () => {
      const agentId = randomUUID();
      const now = T0 + 60 * MIN;
      const active = makeSession({ agentId, expiresAt: now + 1 });
      const active2 = makeSession({ agentId, expiresAt: now + 30 * MIN });
      const expiredNow = makeSession({ agentId, expiresAt: now });
      const expiredLong = makeSession({ agentId, expiresAt: now - 30 * MIN });
      const otherAgent = makeSession({ expiresAt: now + 30 * MIN });
      for (const s of [active, active2, expiredNow, expiredLong, otherAgent]) await store.insertSession(s);
      assert.deepEqual(sorted(await store.activeSessionIdsOfAgent(agentId, now)), sorted([active.id, active2.id]));
      assert.deepEqual(await store.activeSessionIdsOfAgent(randomUUID(), now), []);
    });

    // ---- sessions --------------------------------------------------------------------------

    test('session insert/get round-trips every field', async () => {
      const session = makeSession({
        metadata: { plan: 'pro', n: 1.5, unicode: 'naïve 😀 "q" \\ \n', list: [1, 'two', { three: [3] }], none: null, yes: true },
        config: { timeoutMinutes: 1440, autoRenew: false, maxDurationMinutes: 4320, warningThresholdMinutes: 60 },
        createdAt: YEAR_2100,
        lastActivity: YEAR_2100 + 1,
        lastRenewal: YEAR_2100 + 2,
        expiresAt: YEAR_2100 + 1440 * MIN + 2,
        renewalCount: 7,
        lastMessageAt: YEAR_2100 + 3,
      });
      await store.insertSession(session);
      const read = await store.getSession(session.id);
      assert.deepEqual(read, session);
      assert.equal(typeof read?.createdAt, 'number');
      assert.equal(typeof read?.config.autoRenew, 'boolean');

      const plain = makeSession();
      await store.insertSession(plain);
      assert.deepEqual(await store.getSession(plain.id), plain);
      assert.equal((await store.getSession(plain.id))!.config.autoRenew, true);
      assert.equal((await store.getSession(plain.id))!.lastMessageAt, null);

      assert.equal(await store.getSession(randomUUID()), undefined);
    });

    test('session ids and channel ids are unique', async () => {
      const session = makeSession();
      await store.insertSession(session);
      await assert.rejects(store.insertSession({ ...session, channelId: randomUUID() }));
      await assert.rejects(store.insertSession({ ...makeSession(), channelId: session.channelId }));
    });

    test('saveSession writes the lifecycle state; owner and metadata stay as created', async () => {
      const session = makeSession({ metadata: { a: 1 } });
      await store.insertSession(session);
      const changed: Session = {
        ...session,
        config: { timeoutMinutes: 45, autoRenew: false, maxDurationMinutes: 100, warningThresholdMinutes: 2 },
        lastActivity: T0 + 5 * MIN,
        lastRenewal: T0 + 4 * MIN,
        expiresAt: YEAR_2100,
        renewalCount: 3,
        lastMessageAt: T0 + 5 * MIN,
      };
      await store.saveSession({ ...changed, agentId: randomUUID(), userId: randomUUID(), metadata: { b: [2] } }, []);
      assert.deepEqual(await store.getSession(session.id), changed);

      const other = makeSession();
      await store.insertSession(other);
      await store.saveSession({ ...changed, lastMessageAt: null, config: { ...changed.config, autoRenew: true } }, []);
      assert.deepEqual(await store.getSession(session.id), {
        ...changed,
        lastMessageAt: null,
        config: { ...changed.config, autoRenew: true },
      });
      assert.deepEqual(await store.getSession(other.id), other, 'another session is untouched');
    });

    test('deleteSession removes its messages, events and idempotency keys, not another session', async () => {
      const doomed = await sessionWithDependents(store);
      const kept = await sessionWithDependents(store);
      assert.equal(await store.deleteSession(doomed.session.id), true);
      await assertDependentsGone(store, doomed);
      await assertDependentsKept(store, kept);
      assert.equal(await store.deleteSession(doomed.session.id), false);
      assert.equal(await store.deleteSession(randomUUID()), false);
    });

    // ---- listing ---------------------------------------------------------------------------

    describe('listSessions', () => {
      const now = T0 + 200 * MIN;
      const retentionMs = 60 * MIN;
      const agentA = randomUUID();
      const agentB = randomUUID();
      const user1 = randomUUID();
      const user2 = randomUUID();
      // createdAt grows with the number, so "newest first" is s7, s6, ….
      const s1 = makeSession({ agentId: agentA, userId: user1, createdAt: T0 + 10 * MIN, expiresAt: now + 20 * MIN });
      const s2 = makeSession({ agentId: agentA, userId: user2, createdAt: T0 + 20 * MIN, expiresAt: now + 1 });
      const s3 = makeSession({ agentId: agentA, userId: user1, createdAt: T0 + 30 * MIN, expiresAt: now });
      const s4 = makeSession({ agentId: agentA, userId: user1, createdAt: T0 + 40 * MIN, expiresAt: now - retentionMs + 1 });
      const s5 = makeSession({ agentId: agentA, userId: user2, createdAt: T0 + 50 * MIN, expiresAt: now - retentionMs });
      const s6 = makeSession({ agentId: agentA, userId: user1, createdAt: T0 + 60 * MIN, expiresAt: now + 5 * MIN });
      const s7 = makeSession({ agentId: agentB, userId: user1, createdAt: T0 + 70 * MIN, expiresAt: now + 5 * MIN });

      const query = (q: Partial<SessionListQuery>): SessionListQuery => ({
        status: 'active',
        limit: 50,
        offset: 0,
        now,
        retentionMs,
        ...q,
      });

      before(async () => {
        for (const s of [s1, s2, s3, s4, s5, s6, s7]) await store.insertSession(s);
      });

      test('by agent, active (the boundary: expiresAt = now is expired)', async () => {
        const list = await store.listSessions(query({ agentId: agentA }));
        assert.deepEqual(list, {
          sessions: [s6, s2, s1],
          total: 3,
          stats: { totalSessions: 5, activeSessions: 3, expiredSessions: 2 },
        });
      });

      test('by agent, expired: within retention only', async () => {
        const list = await store.listSessions(query({ agentId: agentA, status: 'expired' }));
        assert.deepEqual(list, {
          sessions: [s4, s3],
          total: 2,
          stats: { totalSessions: 5, activeSessions: 3, expiredSessions: 2 },
        });
      });

      test('by agent, all: the one past retention is hidden', async () => {
        const list = await store.listSessions(query({ agentId: agentA, status: 'all' }));
        assert.deepEqual(ids(list.sessions), ids([s6, s4, s3, s2, s1]));
        assert.equal(list.total, 5);
        assert.ok(!ids(list.sessions).includes(s5.id));
      });

      test('by agent and user: both filters; stats ignore only the status', async () => {
        const list = await store.listSessions(query({ agentId: agentA, userId: user1, status: 'all' }));
        assert.deepEqual(list, {
          sessions: [s6, s4, s3, s1],
          total: 4,
          stats: { totalSessions: 4, activeSessions: 2, expiredSessions: 2 },
        });
        const active = await store.listSessions(query({ agentId: agentA, userId: user2 }));
        assert.deepEqual(active, {
          sessions: [s2],
          total: 1,
          stats: { totalSessions: 1, activeSessions: 1, expiredSessions: 0 },
        });
      });

      test('by user across agents', async () => {
        const list = await store.listSessions(query({ userId: user1 }));
        assert.deepEqual(list, {
          sessions: [s7, s6, s1],
          total: 3,
          stats: { totalSessions: 5, activeSessions: 3, expiredSessions: 2 },
        });
      });

      test('limit and offset page through; total stays the full count', async () => {
        const page = (offset: number) => store.listSessions(query({ agentId: agentA, status: 'all', limit: 2, offset }));
        const pages = await Promise.all([0, 2, 4, 5, 50].map(page));
        assert.deepEqual(
          pages.map((p) => ids(p.sessions)),
          [ids([s6, s4]), ids([s3, s2]), ids([s1]), [], []],
        );
        for (const p of pages) {
          assert.equal(p.total, 5);
          assert.deepEqual(p.stats, { totalSessions: 5, activeSessions: 3, expiredSessions: 2 });
        }
      });

      test('nothing matches: empty list and zero counts', async () => {
        assert.deepEqual(await store.listSessions(query({ agentId: randomUUID(), status: 'all' })), {
          sessions: [],
          total: 0,
          stats: { totalSessions: 0, activeSessions: 0, expiredSessions: 0 },
        });
      });

      test('the same createdAt: ordered by id, newest-first order stays total across pages', async () => {
        const agentId = randomUUID();
        const tied = ['aaaaaaaa', 'cccccccc', 'bbbbbbbb'].map((prefix) =>
          makeSession({
            id: `${prefix}-0000-4000-8000-${randomUUID().slice(-12)}`,
            agentId,
            createdAt: T0 + 5 * MIN,
            expiresAt: now + MIN,
          }),
        );
        const newer = makeSession({ agentId, createdAt: T0 + 6 * MIN, expiresAt: now + MIN });
        for (const s of [...tied, newer]) await store.insertSession(s);
        const byIdDesc = sorted(ids(tied)).reverse();
        const list = await store.listSessions(query({ agentId }));
        assert.deepEqual(ids(list.sessions), [newer.id, ...byIdDesc]);
        const walked: string[] = [];
        for (let offset = 0; offset < 4; offset++) {
          walked.push(...ids((await store.listSessions(query({ agentId, limit: 1, offset }))).sessions));
        }
        assert.deepEqual(walked, [newer.id, ...byIdDesc]);
      });

      test('no filter at all lists every session of the store', async () => {
        const own = await freshStore();
        const a = makeSession({ createdAt: T0, expiresAt: now + MIN });
        const b = makeSession({ createdAt: T0 + 1, expiresAt: now - MIN });
        await own.insertSession(a);
        await own.insertSession(b);
        assert.deepEqual(await own.listSessions(query({ status: 'all' })), {
          sessions: [b, a],
          total: 2,
          stats: { totalSessions: 2, activeSessions: 1, expiredSessions: 1 },
        });
      });
    });

    test('list stats stay exact through create, expiry processing, delete, purge and a rolled-back create', async () => {
      const own = await freshStore();
      const agentA = randomUUID();
      const agentB = randomUUID();
      const retentionMs = 60 * MIN;
      const a1 = makeSession({ agentId: agentA, createdAt: T0, expiresAt: T0 + 30 * MIN });
      const a2 = makeSession({ agentId: agentA, createdAt: T0 + 1, expiresAt: T0 + 10 * MIN });
      const b1 = makeSession({ agentId: agentB, createdAt: T0 + 2, expiresAt: T0 + 20 * MIN });
      for (const s of [a1, a2, b1]) await own.insertSession(s);
      const stats = async (now: number, agentId?: string) => {
        const list = await own.listSessions({ status: 'all', limit: 50, offset: 0, now, retentionMs, ...(agentId ? { agentId } : {}) });
        const { totalSessions: t, activeSessions: a, expiredSessions: e } = list.stats;
        assert.equal(list.total, t);
        return [t, a, e];
      };
      assert.deepEqual(await stats(T0), [3, 3, 0]);
      assert.deepEqual(await stats(T0, agentA), [2, 2, 0]);
      assert.deepEqual(await stats(T0, agentB), [1, 1, 0]);

      // a2 expired, not processed yet; then processed (twice: counted once).
      const later = T0 + 15 * MIN;
      assert.deepEqual(await stats(later), [3, 2, 1]);
      await own.setLifecycleFlags(a2.id, { warned: true, expiryEmitted: true });
      assert.deepEqual(await stats(later), [3, 2, 1]);
      await own.setLifecycleFlags(a2.id, { warned: true, expiryEmitted: true });
      assert.deepEqual(await stats(later, agentA), [2, 1, 1]);
      assert.deepEqual(await stats(T0, agentA), [2, 2, 0], 'flagged before its expiry: still active at T0');
      await own.setLifecycleFlags(a2.id, { warned: false, expiryEmitted: false });
      assert.deepEqual(await stats(later, agentA), [2, 1, 1]);
      await own.setLifecycleFlags(a2.id, { warned: true, expiryEmitted: true });

      // A create rolled back leaves the counts as they were.
      await assert.rejects(
        own.transaction(async (tx) => {
          await tx.insertSession(makeSession({ agentId: agentA, createdAt: T0 + 3 }));
          throw new Error('rollback');
        }),
        /rollback/,
      );
      assert.deepEqual(await stats(later, agentA), [2, 1, 1]);

      // Past retention it is not counted, purged or not; purging changes nothing visible.
      const muchLater = T0 + 10 * MIN + retentionMs;
      assert.deepEqual(await stats(muchLater), [2, 0, 2]);
      assert.equal(await own.purgeExpired(T0 + 10 * MIN, 10), 1);
      assert.deepEqual(await stats(muchLater), [2, 0, 2]);
      assert.deepEqual(await stats(later, agentA), [1, 1, 0]);

      assert.equal(await own.deleteSession(b1.id), true);
      assert.equal(await own.deleteSession(b1.id), false);
      assert.deepEqual(await stats(later), [1, 1, 0]);
      assert.deepEqual(await stats(later, agentB), [0, 0, 0]);
      assert.equal(await own.deleteSession(a1.id), true);
      assert.deepEqual(await stats(T0), [0, 0, 0]);
    });

    test('dueLifecycle: warnings and expiries due, each session once, the earliest of each first', async () => {
      const own = await freshStore();
      const now = T0 + 100 * MIN;
      const five = { ...CONFIG, warningThresholdMinutes: 5 };
      const inWindow = makeSession({ expiresAt: now + 2 * MIN, config: five }); // warning due at now - 3 min
      const warnedExpired = makeSession({ expiresAt: now - MIN, config: five });
      const neverWarned = makeSession({ expiresAt: now - 3 * MIN, config: five }); // both due, warning at now - 8 min
      const done = makeSession({ expiresAt: now - 4 * MIN, config: five });
      const later = makeSession({ expiresAt: now + 30 * MIN, config: five });
      for (const s of [inWindow, warnedExpired, neverWarned, done, later]) await own.insertSession(s);
      await own.setLifecycleFlags(warnedExpired.id, { warned: true, expiryEmitted: false });
      await own.setLifecycleFlags(done.id, { warned: true, expiryEmitted: true });

      const due = await own.dueLifecycle(now, 10);
      assert.deepEqual(sorted(due.map((d) => d.session.id)), sorted([inWindow.id, warnedExpired.id, neverWarned.id]));
      assert.deepEqual(
        due.find((d) => d.session.id === warnedExpired.id),
        { session: warnedExpired, flags: { warned: true, expiryEmitted: false } },
      );
      assert.deepEqual(
        due.find((d) => d.session.id === neverWarned.id),
        { session: neverWarned, flags: { warned: false, expiryEmitted: false } },
      );
      // One of each kind: the earliest expiry and the earliest warning are the same session.
      assert.deepEqual(
        (await own.dueLifecycle(now, 1)).map((d) => d.session.id),
        [neverWarned.id],
      );
      assert.deepEqual(await own.dueLifecycle(T0, 10), []);
    });

    test("emitLifecycle: a batch of warnings and expiries, numbered after each session's last event, each once", async () => {
      const own = await freshStore();
      const now = T0 + 100 * MIN;
      const agentA = randomUUID();
      const agentB = randomUUID();
      const five = { ...CONFIG, warningThresholdMinutes: 5 };
      const warningOnly = makeSession({ agentId: agentA, createdAt: T0, expiresAt: now + 2 * MIN, config: five });
      const expiryOnly = makeSession({ agentId: agentA, createdAt: T0 + 1, expiresAt: now - MIN, config: five });
      const both = makeSession({ agentId: agentB, createdAt: T0 + 2, expiresAt: now - 3 * MIN, config: five });
      const emitted = makeSession({ agentId: agentB, createdAt: T0 + 3, expiresAt: now - 4 * MIN, config: five });
      const deleted = makeSession({ agentId: agentA, createdAt: T0 + 4, expiresAt: now - 2 * MIN, config: five });
      const notDue = makeSession({ agentId: agentA, createdAt: T0 + 5, expiresAt: now + 30 * MIN, config: five });
      for (const s of [warningOnly, expiryOnly, both, emitted, deleted, notDue]) await own.insertSession(s);
      const [message] = await own.appendEvents(both.id, [pending('message.created', T0 + 10)]);
      const none = { warned: false, expiryEmitted: false };
      const warned = { warned: true, expiryEmitted: false };
      const done = { warned: true, expiryEmitted: true };
      await own.setLifecycleFlags(expiryOnly.id, warned);
      await own.setLifecycleFlags(emitted.id, done);
      await own.deleteSession(deleted.id);
      const stats = async (agentId?: string) => {
        const { stats: s } = await own.listSessions({ status: 'all', limit: 1, offset: 0, now, retentionMs: 24 * 60 * MIN, agentId });
        return [s.totalSessions, s.activeSessions, s.expiredSessions];
      };

      const warning = (at: number, s: Session) => pending('session.warning', at, { sessionId: s.id, status: 'active' });
      const expiry = (at: number, s: Session) => pending('session.expired', at, { sessionId: s.id, status: 'expired' });
      const batch = [
        { sessionId: warningOnly.id, events: [warning(now, warningOnly)], before: none, after: warned },
        { sessionId: expiryOnly.id, events: [expiry(now, expiryOnly)], before: warned, after: done },
        { sessionId: both.id, events: [warning(now, both), expiry(now, both)], before: none, after: done },
        // Deleted since it was read: nothing stored.
        { sessionId: deleted.id, events: [warning(now, deleted), expiry(now, deleted)], before: none, after: done },
        // Read before another emission set its flags: nothing stored.
        { sessionId: emitted.id, events: [expiry(now, emitted)], before: warned, after: done },
      ];
      const at = new Date(now).toISOString();
      const expected = [
        { type: 'session.warning', sessionId: warningOnly.id, seq: 1, at, data: { sessionId: warningOnly.id, status: 'active' } },
        { type: 'session.expired', sessionId: expiryOnly.id, seq: 1, at, data: { sessionId: expiryOnly.id, status: 'expired' } },
        { type: 'session.warning', sessionId: both.id, seq: 2, at, data: { sessionId: both.id, status: 'active' } },
        { type: 'session.expired', sessionId: both.id, seq: 3, at, data: { sessionId: both.id, status: 'expired' } },
      ];
      assert.deepEqual(await own.emitLifecycle(batch), expected);

      assert.deepEqual(await own.eventsAfter(warningOnly.id, 0, 10), [expected[0]]);
      assert.deepEqual(await own.eventsAfter(expiryOnly.id, 0, 10), [expected[1]]);
      assert.deepEqual(await own.eventsAfter(both.id, 0, 10), [message, expected[2], expected[3]]);
      assert.deepEqual(await own.eventsAfter(emitted.id, 0, 10), []);
      assert.deepEqual(await own.eventsAfter(deleted.id, 0, 10), []);
      assert.equal(await own.lastEventSeq(both.id), 3);
      assert.deepEqual(await own.getLifecycle(warningOnly.id), { session: warningOnly, flags: warned });
      assert.deepEqual(await own.getLifecycle(expiryOnly.id), { session: expiryOnly, flags: done });
      assert.deepEqual(await own.getLifecycle(both.id), { session: both, flags: done });
      assert.deepEqual(await own.getLifecycle(emitted.id), { session: emitted, flags: done });
      assert.deepEqual(await own.getLifecycle(notDue.id), { session: notDue, flags: none });
      assert.equal(await own.getLifecycle(deleted.id), undefined);
      // The counters moved by the two expiries stored, once: active = not processed, corrected by
      // the backlog, which is empty now.
      assert.deepEqual(await stats(), [5, 2, 3]);
      assert.deepEqual(await stats(agentA), [3, 2, 1]);
      assert.deepEqual(await stats(agentB), [2, 0, 2]);
      assert.deepEqual(await own.healthCounts(now), { activeSessions: 2, expiringSoon: 1, invalidSessions: 0 });
      assert.deepEqual(await own.dueLifecycle(now, 10), []);

      // The same batch again: every session's flags have moved on, nothing is stored twice.
      assert.deepEqual(await own.emitLifecycle(batch), []);
      assert.equal(await own.lastEventSeq(both.id), 3);
      assert.deepEqual(await stats(), [5, 2, 3]);
      assert.deepEqual(await own.emitLifecycle([]), []);
    });

    test('healthCounts: active, expiringSoon by each row threshold, invalid = expiry not processed', async () => {
      const own = await freshStore();
      const now = T0 + 100 * MIN;
      assert.deepEqual(await own.healthCounts(now), { activeSessions: 0, expiringSoon: 0, invalidSessions: 0 });

      const threshold = (warningThresholdMinutes: number) => ({ ...CONFIG, warningThresholdMinutes });
      const sessions = [
        makeSession({ expiresAt: now + 10 * MIN, config: threshold(5) }), // active
        makeSession({ expiresAt: now + 5 * MIN, config: threshold(5) }), // active, warning window starts now
        makeSession({ expiresAt: now + 5 * MIN + 1, config: threshold(5) }), // active, 1 ms before its window
        makeSession({ expiresAt: now + 15 * MIN, config: threshold(20) }), // active, in its own wider window
        makeSession({ expiresAt: now + 1, config: threshold(1) }), // active, about to expire
        makeSession({ expiresAt: now }), // expired at this instant, not processed
        makeSession({ expiresAt: now - 50 * MIN }), // expired long ago, not processed
      ];
      const processed = makeSession({ expiresAt: now - MIN }); // expired and processed
      for (const s of [...sessions, processed]) await own.insertSession(s);
      await own.setLifecycleFlags(processed.id, { warned: true, expiryEmitted: true });

      assert.deepEqual(await own.healthCounts(now), { activeSessions: 5, expiringSoon: 3, invalidSessions: 2 });
      assert.deepEqual(await own.healthCounts(T0), { activeSessions: 8, expiringSoon: 0, invalidSessions: 0 });
    });

    test('importSessions: rows as given, with their flags, counted like sessions created one by one', async () => {
      const own = await freshStore();
      const now = T0 + 100 * MIN;
      const agent = randomUUID();
      const active = makeSession({ agentId: agent, expiresAt: now + 10 * MIN });
      const processed = makeSession({ agentId: agent, expiresAt: now - MIN });
      const backlog = makeSession({ expiresAt: now - 2 * MIN });
      const many = Array.from({ length: 2500 }, (_, i) => makeSession({ createdAt: T0 - i, expiresAt: now - 3 * MIN }));
      await own.importSessions([
        { session: active, flags: { warned: false, expiryEmitted: false } },
        { session: processed, flags: { warned: true, expiryEmitted: true } },
        { session: backlog, flags: { warned: false, expiryEmitted: false } },
        ...many.map((session) => ({ session, flags: { warned: true, expiryEmitted: true } })),
      ]);
      assert.deepEqual(await own.getSession(active.id), active);
      assert.deepEqual(await own.getLifecycle(processed.id), { session: processed, flags: { warned: true, expiryEmitted: true } });
      assert.equal(await own.lastEventSeq(active.id), 0);
      assert.deepEqual(await own.healthCounts(now), { activeSessions: 1, expiringSoon: 0, invalidSessions: 1 });
      const stats = async (agentId?: string) =>
        (await own.listSessions({ status: 'all', limit: 1, offset: 0, now, retentionMs: 24 * 60 * MIN, agentId })).stats;
      assert.deepEqual(await stats(), { totalSessions: 2503, activeSessions: 1, expiredSessions: 2502 });
      assert.deepEqual(await stats(agent), { totalSessions: 2, activeSessions: 1, expiredSessions: 1 });
      assert.deepEqual(
        (await own.dueLifecycle(now, 10)).map((d) => d.session.id),
        [backlog.id],
      );
    });

    // ---- messages --------------------------------------------------------------------------

    describe('messages', () => {
      const session = makeSession();
      const other = makeSession();
      const at = (i: number) => T0 + i * 1000;
      /** m1..m8 at T0+1s..T0+8s; the other session has messages at the same instants. */
      const messages = Array.from({ length: 8 }, (_, i) =>
        makeMessage(session.id, at(i + 1), { isAgent: i % 2 === 1, content: `m${i + 1}` }),
      );

      before(async () => {
        await store.insertSession(session);
        await store.insertSession(other);
        for (const [i, m] of messages.entries()) {
          await store.insertMessage(m);
          await store.insertMessage(makeMessage(other.id, at(i + 1)));
        }
      });

      const list = (q: HistoryQuery) => store.listMessages(session.id, planHistory(q));

      test('round-trips every field', async () => {
        const s = makeSession();
        await store.insertSession(s);
        const user = makeMessage(s.id, at(100), {
          content: '  exact <b>text</b>\r\n\ttabs & "quotes" 😀 é  ',
          metadata: { source: 'web', nested: { list: [1, null, true] } },
          attachments: [
            { type: 'image', url: 'https://example.com/a.png', name: 'a.png', size: 1234, mimeType: 'image/png' },
            { type: 'document', url: 'http://example.com/b.pdf' },
          ],
        });
        const reply = makeMessage(s.id, at(101), { isAgent: true, authorId: s.agentId, inReplyTo: user.id });
        await store.insertMessage(user);
        await store.insertMessage(reply);
        assert.deepEqual(await store.getMessage(user.id), user);
        assert.deepEqual(await store.getMessage(reply.id), reply);
        assert.equal(await store.getMessage(randomUUID()), undefined);
        assert.deepEqual(await store.findReplyTo(user.id), reply);
        assert.equal(await store.findReplyTo(reply.id), undefined);
        assert.equal(await store.findReplyTo(randomUUID()), undefined);
      });

      test('findReplyTo gives the earliest reply when there are several', async () => {
        const s = makeSession();
        await store.insertSession(s);
        const user = makeMessage(s.id, at(1));
        const second = makeMessage(s.id, at(3), { isAgent: true, inReplyTo: user.id });
        const first = makeMessage(s.id, at(2), { isAgent: true, inReplyTo: user.id });
        for (const m of [user, second, first]) await store.insertMessage(m);
        assert.deepEqual(await store.findReplyTo(user.id), first);
      });

      test('createdAt is unique within a session, not across sessions', async () => {
        const s = makeSession();
        await store.insertSession(s);
        await store.insertMessage(makeMessage(s.id, at(1)));
        await assert.rejects(store.insertMessage(makeMessage(s.id, at(1))));
        await assert.rejects(store.insertMessage({ ...makeMessage(s.id, at(2)), id: messages[0]!.id }), 'ids are unique');
      });

      test('no cursor: newest first, limit + 1 rows', async () => {
        assert.deepEqual(await list({ limit: 3 }), [messages[7], messages[6], messages[5], messages[4]]);
      });

      test('before: older than the cursor, descending, exclusive', async () => {
        assert.deepEqual(ids(await list({ limit: 2, before: at(5) })), ids([messages[3]!, messages[2]!, messages[1]!]));
        assert.deepEqual(ids(await list({ limit: 10, before: at(2) })), ids([messages[0]!]));
        assert.deepEqual(await list({ limit: 10, before: at(1) }), []);
      });

      test('after: newer than the cursor, ascending, exclusive', async () => {
        assert.deepEqual(ids(await list({ limit: 2, after: at(5) })), ids([messages[5]!, messages[6]!, messages[7]!]));
        assert.deepEqual(ids(await list({ limit: 10, after: at(7) })), ids([messages[7]!]));
        assert.deepEqual(await list({ limit: 10, after: at(8) }), []);
      });

      test('both: strictly between, newest first', async () => {
        assert.deepEqual(ids(await list({ limit: 2, after: at(2), before: at(7) })), ids([messages[5]!, messages[4]!, messages[3]!]));
        assert.deepEqual(await list({ limit: 2, after: at(3), before: at(4) }), []);
      });

      test('pages built from store rows: before=cursors.before and after=cursors.after visit each once', async () => {
        const page = async (q: HistoryQuery) => shapeHistoryPage(await list(q), q);
        const backwards: string[] = [];
        let current = await page({ limit: 3, before: at(9) });
        backwards.push(...ids(current.messages));
        while (current.hasMore) {
          current = await page({ limit: 3, before: current.cursors.before! });
          backwards.push(...ids(current.messages));
        }
        assert.deepEqual(backwards, ids([...messages].reverse()));

        const forwards: string[] = [];
        current = await page({ limit: 3, after: 0 });
        forwards.push(...ids(current.messages).reverse());
        while (current.hasMore) {
          current = await page({ limit: 3, after: current.cursors.after! });
          forwards.push(...ids(current.messages).reverse());
        }
        assert.deepEqual(forwards, ids(messages));
      });

      test('recentMessages: the newest n, oldest first', async () => {
        const s = makeSession();
        await store.insertSession(s);
        const own = [3, 1, 2, 5, 4].map((i) => makeMessage(s.id, at(i), { content: `r${i}` }));
        for (const m of own) await store.insertMessage(m);
        const byTime = [...own].sort((a, b) => a.createdAt - b.createdAt);
        assert.deepEqual(await store.recentMessages(s.id, 3), byTime.slice(2));
        assert.deepEqual(await store.recentMessages(s.id, 50), byTime);
        assert.deepEqual(await store.recentMessages(s.id, 0), []);
        assert.deepEqual(await store.recentMessages(randomUUID(), 5), []);
      });
    });

    // ---- events ----------------------------------------------------------------------------

    test('appendEvents numbers 1, 2, 3… per session, without gaps across calls', async () => {
      const a = makeSession();
      const b = makeSession();
      await store.insertSession(a);
      await store.insertSession(b);

      const first = await store.appendEvents(a.id, [
        pending('session.renewed', T0 + 1, { sessionId: a.id }),
        pending('message.created', T0 + 2, { message: { id: 'm1', content: 'hi 😀' } }),
      ]);
      assert.deepEqual(first, [
        { type: 'session.renewed', sessionId: a.id, seq: 1, at: '2026-01-01T00:00:00.001Z', data: { sessionId: a.id } },
        {
          type: 'message.created',
          sessionId: a.id,
          seq: 2,
          at: '2026-01-01T00:00:00.002Z',
          data: { message: { id: 'm1', content: 'hi 😀' } },
        },
      ]);
      assert.deepEqual(await store.appendEvents(a.id, []), [], 'nothing to append: no number used');
      const second = await store.appendEvents(a.id, [pending('message.chunk', YEAR_2100, { messageId: 'm2', chunk: 'x', index: 0 })]);
      assert.deepEqual(second, [
        { type: 'message.chunk', sessionId: a.id, seq: 3, at: '2100-01-01T00:00:00.123Z', data: { messageId: 'm2', chunk: 'x', index: 0 } },
      ]);
      const onB = await store.appendEvents(b.id, [pending('session.warning', T0), pending('session.expired', T0)]);
      assert.deepEqual(
        onB.map((e) => [e.sessionId, e.seq]),
        [
          [b.id, 1],
          [b.id, 2],
        ],
      );
      const third = await store.appendEvents(a.id, [pending('session.ended', T0 + 3)]);
      assert.equal(third[0]!.seq, 4);

      const all: SessionEvent[] = [...first, ...second, ...third];
      assert.deepEqual(await store.eventsAfter(a.id, 0, 100), all);
      assert.deepEqual(await store.eventsAfter(a.id, 1, 2), all.slice(1, 3));
      assert.deepEqual(await store.eventsAfter(a.id, 4, 100), []);
      assert.deepEqual(await store.eventsAfter(b.id, 0, 100), onB);
      assert.deepEqual(await store.eventsAfter(randomUUID(), 0, 100), []);
    });

    test('appendEvents on a missing session stores nothing', async () => {
      const id = randomUUID();
      assert.deepEqual(await store.appendEvents(id, [pending('session.ended', T0)]), []);
      assert.deepEqual(await store.eventsAfter(id, 0, 100), []);
    });

    test('saveSession writes the state and numbers its events after the last one', async () => {
      const session = makeSession();
      await store.insertSession(session);
      const [created] = await store.appendEvents(session.id, [pending('message.created', T0 + 1)]);
      const renewed: Session = { ...session, lastActivity: T0 + 2, lastRenewal: T0 + 2, expiresAt: YEAR_2100, renewalCount: 1 };
      const stored = await store.saveSession(renewed, [
        pending('session.renewed', T0 + 2, { sessionId: session.id }),
        pending('message.created', T0 + 3, { message: { id: 'm2' } }),
      ]);
      assert.deepEqual(stored, [
        { type: 'session.renewed', sessionId: session.id, seq: 2, at: '2026-01-01T00:00:00.002Z', data: { sessionId: session.id } },
        { type: 'message.created', sessionId: session.id, seq: 3, at: '2026-01-01T00:00:00.003Z', data: { message: { id: 'm2' } } },
      ]);
      assert.deepEqual(await store.getSession(session.id), renewed);
      assert.deepEqual(await store.eventsAfter(session.id, 0, 100), [created, ...stored]);
      assert.deepEqual(await store.saveSession({ ...renewed, renewalCount: 2 }, []), [], 'no events: no number used');
      assert.equal((await store.getSession(session.id))!.renewalCount, 2);
      assert.equal((await store.appendEvents(session.id, [pending('session.ended', T0 + 4)]))[0]!.seq, 4);
    });

    test('saveSession re-arms the warning only when asked', async () => {
      const session = makeSession();
      await store.insertSession(session);
      await store.setLifecycleFlags(session.id, { warned: true, expiryEmitted: false });
      await store.saveSession({ ...session, renewalCount: 1 }, []);
      assert.deepEqual((await store.getLifecycle(session.id))!.flags, { warned: true, expiryEmitted: false });
      await store.saveSession({ ...session, renewalCount: 2 }, [], { rearmWarning: true });
      const after = await store.getLifecycle(session.id);
      assert.deepEqual(after, { session: { ...session, renewalCount: 2 }, flags: { warned: false, expiryEmitted: false } });
    });

    test('saveSession on a missing session stores nothing', async () => {
      const ghost = makeSession();
      assert.deepEqual(await store.saveSession(ghost, [pending('session.renewed', T0)]), []);
      assert.equal(await store.getSession(ghost.id), undefined);
      assert.deepEqual(await store.eventsAfter(ghost.id, 0, 100), []);
    });

    test('nextLifecycleMoment: the earliest warning or expiry not yet emitted', async () => {
      const own = await freshStore();
      assert.equal(await own.nextLifecycleMoment(), undefined);
      const five = { ...CONFIG, warningThresholdMinutes: 5 };
      const late = makeSession({ expiresAt: T0 + 60 * MIN, config: five }); // warning at T0 + 55 min
      const early = makeSession({ expiresAt: T0 + 30 * MIN, config: five }); // warning at T0 + 25 min
      await own.insertSession(late);
      await own.insertSession(early);
      assert.equal(await own.nextLifecycleMoment(), T0 + 25 * MIN);
      await own.setLifecycleFlags(early.id, { warned: true, expiryEmitted: false });
      assert.equal(await own.nextLifecycleMoment(), T0 + 30 * MIN, 'warned: its expiry is next');
      await own.setLifecycleFlags(early.id, { warned: true, expiryEmitted: true });
      assert.equal(await own.nextLifecycleMoment(), T0 + 55 * MIN);
      await own.setLifecycleFlags(late.id, { warned: true, expiryEmitted: true });
      assert.equal(await own.nextLifecycleMoment(), undefined);
    });

    // ---- idempotency -----------------------------------------------------------------------

    test('idempotency records: insert, get, complete; scoped to the session', async () => {
      const a = makeSession();
      const b = makeSession();
      await store.insertSession(a);
      await store.insertSession(b);
      const record = makeRecord(a.id, { key: 'retry-1', createdAt: YEAR_2100 });
      await store.insertIdempotencyRecord(record);
      assert.deepEqual(await store.getIdempotencyRecord(a.id, 'retry-1'), record);
      assert.equal(await store.getIdempotencyRecord(a.id, 'retry-2'), undefined);
      assert.equal(await store.getIdempotencyRecord(b.id, 'retry-1'), undefined);

      await assert.rejects(store.insertIdempotencyRecord({ ...record, messageId: randomUUID() }), 'the same key twice is refused');
      const onB = makeRecord(b.id, { key: 'retry-1', completed: true });
      await store.insertIdempotencyRecord(onB);
      assert.deepEqual(await store.getIdempotencyRecord(b.id, 'retry-1'), onB);

      await store.completeIdempotencyRecord(a.id, 'retry-1');
      assert.deepEqual(await store.getIdempotencyRecord(a.id, 'retry-1'), { ...record, completed: true });
      await store.completeIdempotencyRecord(a.id, 'no-such-key');

      const long = makeRecord(a.id, { key: 'k'.repeat(255) });
      await store.insertIdempotencyRecord(long);
      assert.deepEqual(await store.getIdempotencyRecord(a.id, long.key), long);
    });

    // ---- purging ---------------------------------------------------------------------------

    test('purgeExpired deletes in batches, oldest expiry first, with everything the sessions own', async () => {
      const own = await freshStore();
      const cutoff = T0 + 100 * MIN;
      const gone = [];
      for (const expiresAt of [cutoff - 30 * MIN, cutoff - 20 * MIN, cutoff - 10 * MIN, cutoff]) {
        gone.push(await sessionWithDependents(own, { createdAt: expiresAt - 30 * MIN, expiresAt }));
      }
      const kept = await sessionWithDependents(own, { createdAt: cutoff - 29 * MIN, expiresAt: cutoff + 1 });

      assert.equal(await own.purgeExpired(cutoff, 2), 2);
      await assertDependentsGone(own, gone[0]!);
      await assertDependentsGone(own, gone[1]!);
      await assertDependentsKept(own, gone[2]!);
      assert.equal(await own.purgeExpired(cutoff, 2), 2);
      await assertDependentsGone(own, gone[2]!);
      await assertDependentsGone(own, gone[3]!);
      assert.equal(await own.purgeExpired(cutoff, 2), 0);
      await assertDependentsKept(own, kept);
    });

    test('purgeIdempotencyKeys forgets keys created before the cutoff', async () => {
      const own = await freshStore();
      const session = makeSession();
      await own.insertSession(session);
      const cutoff = T0 + 24 * 60 * MIN;
      const old = makeRecord(session.id, { createdAt: cutoff - 1 });
      const older = makeRecord(session.id, { createdAt: T0 });
      const atCutoff = makeRecord(session.id, { createdAt: cutoff });
      const young = makeRecord(session.id, { createdAt: cutoff + 1 });
      for (const r of [old, older, atCutoff, young]) await own.insertIdempotencyRecord(r);
      assert.equal(await own.purgeIdempotencyKeys(cutoff), 2);
      assert.equal(await own.getIdempotencyRecord(session.id, old.key), undefined);
      assert.equal(await own.getIdempotencyRecord(session.id, older.key), undefined);
      assert.deepEqual(await own.getIdempotencyRecord(session.id, atCutoff.key), atCutoff);
      assert.deepEqual(await own.getIdempotencyRecord(session.id, young.key), young);
      assert.equal(await own.purgeIdempotencyKeys(cutoff), 0);
      assert.deepEqual(await own.getSession(session.id), session, 'the session stays');
    });

    // ---- transactions ----------------------------------------------------------------------

    test('transaction commits everything it wrote and returns its value', async () => {
      const session = makeSession();
      const message = makeMessage(session.id, T0 + 1);
      const result = await store.transaction(async (tx) => {
        await tx.insertSession(session);
        await tx.insertMessage(message);
        const events = await tx.appendEvents(session.id, [pending('message.created', T0 + 1)]);
        assert.deepEqual(await tx.getSession(session.id), session, 'a transaction sees its own writes');
        return events.map((e) => e.seq);
      });
      assert.deepEqual(result, [1]);
      assert.deepEqual(await store.getSession(session.id), session);
      assert.deepEqual(await store.getMessage(message.id), message);
      assert.equal((await store.eventsAfter(session.id, 0, 10)).length, 1);
    });

    test('a throw inside a transaction rolls everything back', async () => {
      const existing = await sessionWithDependents(store);
      const fresh = makeSession();
      const message = makeMessage(fresh.id, T0 + 1);
      const record = makeRecord(fresh.id);
      const failure = new Error('boom');
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertSession(fresh);
          await tx.insertMessage(message);
          await tx.appendEvents(fresh.id, [pending('message.created', T0 + 1)]);
          await tx.insertIdempotencyRecord(record);
          await tx.saveSession({ ...existing.session, renewalCount: 99, metadata: { changed: true } }, []);
          await tx.appendEvents(existing.session.id, [pending('session.renewed', T0 + 2)]);
          await tx.completeIdempotencyRecord(existing.session.id, existing.record.key);
          await tx.insertAgent(makeAgent({ id: fresh.agentId }));
          throw failure;
        }),
        (error) => error === failure,
      );
      assert.equal(await store.getSession(fresh.id), undefined);
      assert.equal(await store.getMessage(message.id), undefined);
      assert.deepEqual(await store.eventsAfter(fresh.id, 0, 10), []);
      assert.equal(await store.getIdempotencyRecord(fresh.id, record.key), undefined);
      assert.equal(await store.getAgent(fresh.agentId), undefined);
      await assertDependentsKept(store, existing);
      // The rolled-back event did not use up a number.
      const [next] = await store.appendEvents(existing.session.id, [pending('session.renewed', T0 + 3)]);
      assert.equal(next!.seq, 2);
    });

    test('deleteSession inside a rolled-back transaction deletes nothing', async () => {
      const existing = await sessionWithDependents(store);
      await assert.rejects(
        store.transaction(async (tx) => {
          assert.equal(await tx.deleteSession(existing.session.id), true);
          assert.equal(await tx.getSession(existing.session.id), undefined);
          throw new Error('undo');
        }),
        /undo/,
      );
      await assertDependentsKept(store, existing);
    });

    test('concurrent transactions that read a session and append events get 1..N, no lost update', async () => {
      const session = makeSession();
      await store.insertSession(session);
      const N = 25;
      const seqs = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          store.transaction(async (tx) => {
            const current = await tx.getSession(session.id);
            assert.ok(current);
            const [event] = await tx.appendEvents(session.id, [pending('session.renewed', T0 + i)]);
            // A read-modify-write: only a row lock (or serialised transactions) keeps every increment.
            await tx.saveSession({ ...current, renewalCount: current.renewalCount + 1 }, []);
            return event!.seq;
          }),
        ),
      );
      assert.deepEqual(
        [...seqs].sort((a, b) => a - b),
        Array.from({ length: N }, (_, i) => i + 1),
      );
      assert.equal((await store.getSession(session.id))!.renewalCount, N);
      const stored = await store.eventsAfter(session.id, 0, 1000);
      assert.deepEqual(
        stored.map((e) => e.seq),
        Array.from({ length: N }, (_, i) => i + 1),
      );
    });
  });
}
