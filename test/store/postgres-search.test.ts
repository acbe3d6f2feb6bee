/**
 * PostgreSQL search looks among the newest messages first and searches the older ones only when
 * those leave the page unfilled (store/postgres/search.ts). Where the newest part starts must
 * never change a result: for every split point among the messages' times, every query (one or
 * two words, scoped to an agent, a user or past a cursor, pages of 1 to 25) returns what the
 * search without a split returns, and what an in-memory search of the same rows returns.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import type { Message } from '../../src/domain/message.js';
import { foldForSearch } from '../../src/domain/search.js';
import type { Session } from '../../src/domain/session.js';
import { openPostgresDatabase } from '../../src/store/postgres/pool.js';
import { postgresSearch, RecentMessages } from '../../src/store/postgres/search.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { Database } from '../../src/store/schema.js';
import type { SqlStore } from '../../src/store/sql-store.js';
import type { MessageSearchQuery } from '../../src/store/store.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';
import { makeSession, MIN, T0 } from './fixtures.js';

const skip = process.env.TEST_POSTGRES === '0' ? 'PostgreSQL not reachable' : undefined;
const RETENTION = 60 * MIN;
const NOW = T0 + 10 * MIN;

describe('PostgreSQL search, newest part first', { skip }, () => {
  let url: string;
  let store: SqlStore;
  let db: Kysely<Database>;
  let pool: { end(): Promise<void> };
  const sessions: Session[] = [];
  const messages: Message[] = [];

  before(async () => {
    url = await createTestDatabase();
    store = openPostgresStore(url, 2);
    await store.migrate();
    ({ db, pool } = openPostgresDatabase(url, 2));
    const agentA = randomUUID();
    const agentB = randomUUID();
    // Agent A's sessions hold most messages, so a search scoped to agent B finds its matches
    // far behind A's in time: the candidates are cut short and the whole search runs.
    sessions.push(
      makeSession({ agentId: agentA, createdAt: T0 }),
      makeSession({ agentId: agentA, createdAt: T0 }),
      makeSession({ agentId: agentB, createdAt: T0 }),
      // Past retention at NOW: its messages are never found.
      makeSession({ agentId: agentB, createdAt: T0 - 2 * RETENTION }),
    );
    for (const s of sessions) await store.insertSession(s);
    const texts = ['alpha beta', 'alpha', 'beta gamma', 'Alphabet soup', 'gamma', 'ALPHA gamma beta'];
    for (let i = 0; i < 120; i++) {
      const session = i % 10 === 3 ? sessions[2]! : i % 17 === 5 ? sessions[3]! : sessions[i % 2]!;
      // Three messages a millisecond now and then: ties are ordered by id.
      const createdAt = T0 + 1_000 + Math.floor(i / 3) * (i % 7 === 0 ? 1 : 10);
      const m: Message = {
        id: randomUUID(),
        sessionId: session.id,
        content: texts[i % texts.length]!,
        authorId: randomUUID(),
        isAgent: false,
        createdAt: createdAt + (i % 3 === 0 ? 0 : i),
        metadata: {},
        attachments: [],
        inReplyTo: null,
      };
      messages.push(m);
    }
    // Messages of one session need distinct times (messages_session_time).
    const seen = new Set<string>();
    for (const m of messages) {
      while (seen.has(`${m.sessionId}:${m.createdAt}`)) m.createdAt += 1;
      seen.add(`${m.sessionId}:${m.createdAt}`);
      await store.insertMessage(m);
    }
  });

  after(async () => {
    await store?.close();
    await pool?.end();
    if (url) await dropTestDatabase(url);
  });

  /** The newest `limit` matches, computed from the rows inserted. */
  function expected(q: MessageSearchQuery): string[] {
    const live = new Map(sessions.filter((s) => s.expiresAt > q.now - q.retentionMs).map((s) => [s.id, s]));
    return messages
      .filter((m) => {
        const s = live.get(m.sessionId);
        if (!s) return false;
        if (q.agentId && s.agentId !== q.agentId) return false;
        if (q.userId && s.userId !== q.userId) return false;
        if (q.after && !(m.createdAt < q.after.createdAt || (m.createdAt === q.after.createdAt && m.id < q.after.id))) return false;
        return q.words.every((w) => foldForSearch(m.content).includes(w));
      })
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .slice(0, q.limit)
      .map((m) => m.id);
  }

  function queries(): MessageSearchQuery[] {
    const base = { now: NOW, retentionMs: RETENTION };
    const middle = [...messages].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))[40]!;
    const out: MessageSearchQuery[] = [];
    for (const limit of [1, 3, 7, 25]) {
      out.push({ ...base, words: ['alpha'], limit });
      out.push({ ...base, words: ['alpha', 'gamma'], limit });
      out.push({ ...base, words: ['beta'], limit, agentId: sessions[2]!.agentId });
      out.push({ ...base, words: ['gamma'], limit, userId: sessions[1]!.userId });
      out.push({ ...base, words: ['alpha'], limit, after: { createdAt: middle.createdAt, id: middle.id } });
      out.push({ ...base, words: ['nowhere'], limit });
    }
    return out;
  }

  test('every split point gives the page the unsplit search and an in-memory search give', async () => {
    const times = [...new Set(messages.map((m) => m.createdAt))].sort((a, b) => a - b);
    const splits = [times[0]! - 1, ...times, times[times.length - 1]! + 1];
    let checked = 0;
    for (const q of queries()) {
      const want = expected(q);
      const whole = (await postgresSearch(db, q, undefined)).map((r) => r.id);
      assert.deepEqual(whole, want, `unsplit: ${JSON.stringify(q.words)} limit ${q.limit}`);
      for (const split of splits) {
        const got = (await postgresSearch(db, q, split)).map((r) => r.id);
        assert.deepEqual(got, want, `split at ${split}: ${JSON.stringify(q.words)} limit ${q.limit}`);
        checked++;
      }
    }
    assert.equal(checked, queries().length * splits.length);
  });

  test('the store search (recent part looked up) returns what the unsplit search returns', async () => {
    for (const q of queries()) {
      const got = (await store.searchMessages(q)).map((m) => m.id);
      assert.deepEqual(got, expected(q));
    }
  });

  test('RecentMessages: the time of the n-th newest message, kept a second, undefined when fewer', async () => {
    let clock = 0;
    const byTime = [...messages].sort((a, b) => b.createdAt - a.createdAt);
    const recent = new RecentMessages(10, () => clock);
    assert.equal(await recent.from(db), byTime[9]!.createdAt);
    assert.equal(await new RecentMessages(messages.length + 1, () => clock).from(db), undefined);

    // A newer message within the second: the kept value; after it, read again.
    const newest = { ...byTime[0]!, id: randomUUID(), createdAt: byTime[0]!.createdAt + 5_000 };
    await store.insertMessage(newest);
    try {
      clock = 999;
      assert.equal(await recent.from(db), byTime[9]!.createdAt);
      clock = 1_000;
      assert.equal(await recent.from(db), byTime[8]!.createdAt);
    } finally {
      await db.deleteFrom('messages').where('id', '=', newest.id).execute();
    }
  });
});
