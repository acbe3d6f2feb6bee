/**
 * Message search (SPEC §12): every word of the query, case-insensitively, in several scripts;
 * newest first with cursor paging; filters; what a session token may search; which sessions
 * are searched (expired until purge, not deleted); refused queries.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Message } from '../../src/domain/message.js';
import { MINUTE } from '../support/clock.js';
import { createSession, ELIZA, startServer, type TestServer } from '../support/server.js';
import type { SearchPage } from '../../src/services/search.js';

const SEARCH = '/api/messaging/search';
const BASE = '/api/messaging/sessions';
let server: TestServer;

before(async () => {
  server = await startServer({ SESSION_RETENTION_MINUTES: '60' });
});
after(() => server.close());

/** A word no other test uses (letters and digits only). */
const unique = () => `u${randomUUID().replace(/-/g, '').slice(0, 12)}`;

/** Stores messages in a session, one millisecond apart, oldest first; returns their ids. */
async function store(sessionId: string, userId: string, contents: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const content of contents) {
    const at = server.clock.advance(1);
    const message: Message = {
      id: randomUUID(),
      sessionId,
      content,
      authorId: userId,
      isAgent: false,
      createdAt: at,
      metadata: {},
      attachments: [],
      inReplyTo: null,
    };
    await server.app.store.insertMessage(message);
    ids.push(message.id);
  }
  return ids;
}

async function search(qs: string, token?: string) {
  const res = await server.request('GET', `${SEARCH}?${qs}`, token === undefined ? {} : { token });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

const q = (text: string) => `q=${encodeURIComponent(text)}`;
type SearchHit = SearchPage['results'][number];
const contents = (body: SearchPage) => body.results.map((r) => r.message.content);

describe('matching', () => {
  test('every word must be in the content, in any order, whatever the case; punctuation is not a word', async () => {
    const s = await createSession(server);
    const w = unique();
    await store(s.sessionId, s.userId, [`${w} red apple`, `${w} green apple`, `${w} RED car`, `${w} apples, red ones`]);
    assert.deepEqual(contents(await search(q(`${w} red apple`))), [`${w} apples, red ones`, `${w} red apple`]);
    assert.deepEqual(contents(await search(q(`Apple!!! ${w.toUpperCase()}, red?`))), [`${w} apples, red ones`, `${w} red apple`]);
    assert.deepEqual(contents(await search(q(`${w} red`))), [`${w} apples, red ones`, `${w} RED car`, `${w} red apple`]);
    assert.deepEqual(contents(await search(q(`${w} blue`))), []);
  });

  test('several scripts: Latin with accents, Cyrillic, Greek, Chinese, Japanese, Arabic', async () => {
    const s = await createSession(server);
    const w = unique();
    const texts = {
      french: `${w} Un café crème à Paris, s'il vous plaît`,
      russian: `${w} Привет, мир! Как дела?`,
      greek: `${w} Καλημέρα κόσμε`,
      chinese: `${w} 我们明天去北京吃烤鸭`,
      japanese: `${w} 東京に行きました`,
      arabic: `${w} مرحبا بالعالم`,
    };
    await store(s.sessionId, s.userId, Object.values(texts));
    const found = async (text: string) => contents(await search(`${q(`${w} ${text}`)}&sessionId=${s.sessionId}`));
    assert.deepEqual(await found('CAFÉ Crème'), [texts.french]);
    assert.deepEqual(await found('cafe'), [], 'an accent is part of the letter');
    assert.deepEqual(await found('à plaît'), [texts.french]);
    assert.deepEqual(await found('ПРИВЕТ мир'), [texts.russian]);
    assert.deepEqual(await found('дела привет'), [texts.russian]);
    assert.deepEqual(await found('ΚΑΛΗΜΈΡΑ'), [texts.greek]);
    assert.deepEqual(await found('北京'), [texts.chinese], 'two characters, no spaces around them');
    assert.deepEqual(await found('烤鸭 明天'), [texts.chinese]);
    assert.deepEqual(await found('東京'), [texts.japanese]);
    assert.deepEqual(await found('行きました'), [texts.japanese]);
    assert.deepEqual(await found('مرحبا'), [texts.arabic]);
    assert.deepEqual(await found('بالعالم مرحبا'), [texts.arabic]);
    assert.deepEqual(await found('北京 мир'), []);
  });

  test('short words (fewer than three characters) work alone and beside longer ones', async () => {
    const s = await createSession(server);
    const w = unique();
    await store(s.sessionId, s.userId, [`${w} go to Oz`, `${w} stay home`]);
    assert.deepEqual(contents(await search(`${q('oz')}&sessionId=${s.sessionId}`)), [`${w} go to Oz`]);
    assert.deepEqual(contents(await search(q(`${w} GO oz`))), [`${w} go to Oz`]);
    assert.deepEqual(contents(await search(q(`${w} go home`))), []);
  });

  test('messages sent through the API are found, with their session id and the whole message', async () => {
    const s = await createSession(server);
    const w = unique();
    const sent = await server.request('POST', `${BASE}/${s.sessionId}/messages`, { body: { content: `Looking for ${w} today` } });
    assert.equal(sent.status, 201);
    const body = await search(q(w));
    assert.equal(body.nextCursor, null);
    const { userMessage } = sent.body;
    assert.deepEqual(body.results, [{ sessionId: s.sessionId, message: userMessage }]);
  });
});

describe('paging and filters', () => {
  test('newest first; following nextCursor visits every result once', async () => {
    const a = await createSession(server);
    const b = await createSession(server);
    const w = unique();
    const stored: string[] = [];
    for (let i = 0; i < 12; i++) {
      const s = i % 2 === 0 ? a : b;
      stored.push(...(await store(s.sessionId, s.userId, [`${w} number ${i}`])));
    }
    const newestFirst = [...stored].reverse();
    const first = await search(`${q(w)}&limit=100`);
    assert.deepEqual(
      first.results.map((r: SearchHit) => r.message.id),
      newestFirst,
    );
    assert.deepEqual(
      first.results.map((r: SearchHit) => r.sessionId),
      newestFirst.map((_, i) => (i % 2 === 0 ? b : a).sessionId),
    );
    assert.equal((await search(q(w))).results.length, 12, 'default limit 20');
    const seen: string[] = [];
    let page = await search(`${q(w)}&limit=5`);
    for (;;) {
      seen.push(...page.results.map((r: SearchHit) => r.message.id));
      if (page.nextCursor === null) break;
      // Newer matches stored meanwhile do not disturb the walk.
      await store(a.sessionId, a.userId, [`${w} late`]);
      page = await search(`${q(w)}&limit=5&cursor=${encodeURIComponent(page.nextCursor)}`);
    }
    assert.deepEqual(seen, newestFirst);
  });

  test('messages of the same millisecond, and messages stored out of time order, page by (createdAt, id)', async () => {
    const sessions = [];
    for (let i = 0; i < 7; i++) sessions.push(await createSession(server));
    const w = unique();
    const base = server.clock.advance(10);
    const stored: Array<{ id: string; createdAt: number }> = [];
    // The newer millisecond first, then the older one: the storage order is not the time order.
    for (const createdAt of [base + 2, base, base + 1]) {
      for (const s of sessions) {
        const message: Message = {
          id: randomUUID(),
          sessionId: s.sessionId,
          content: `${w} tie`,
          authorId: s.userId,
          isAgent: false,
          createdAt,
          metadata: {},
          attachments: [],
          inReplyTo: null,
        };
        await server.app.store.insertMessage(message);
        stored.push({ id: message.id, createdAt });
      }
    }
    server.clock.advance(10);
    const expected = [...stored].sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? 1 : -1)).map((m) => m.id);
    for (const limit of [1, 3, 7, 100]) {
      const seen: string[] = [];
      let page = await search(`${q(`${w} tie`)}&limit=${limit}`);
      for (;;) {
        seen.push(...page.results.map((r: SearchHit) => r.message.id));
        if (page.nextCursor === null) break;
        page = await search(`${q(`${w} tie`)}&limit=${limit}&cursor=${encodeURIComponent(page.nextCursor)}`);
      }
      assert.deepEqual(seen, expected, `limit ${limit}`);
    }
  });

  test('agentId, userId and sessionId narrow the results', async () => {
    const agent = await server.request('POST', '/api/agents', { body: { name: 'Other', provider: { type: 'eliza' } } });
    assert.equal(agent.status, 201);
    const userB = '55555555-5555-4555-8555-555555555555';
    const s1 = await createSession(server);
    const s2 = await createSession(server, { agentId: agent.body.id });
    const s3 = await createSession(server, { userId: userB });
    const w = unique();
    const [m1] = await store(s1.sessionId, s1.userId, [`${w} one`]);
    const [m2] = await store(s2.sessionId, s2.userId, [`${w} two`]);
    const [m3] = await store(s3.sessionId, s3.userId, [`${w} three`]);
    const idsOf = (body: SearchPage) => body.results.map((r) => r.message.id);
    assert.deepEqual(idsOf(await search(q(w))), [m3, m2, m1]);
    assert.deepEqual(idsOf(await search(`${q(w)}&agentId=${agent.body.id}`)), [m2]);
    assert.deepEqual(idsOf(await search(`${q(w)}&agentId=${ELIZA}`)), [m3, m1]);
    assert.deepEqual(idsOf(await search(`${q(w)}&userId=${userB}`)), [m3]);
    assert.deepEqual(idsOf(await search(`${q(w)}&sessionId=${s1.sessionId}`)), [m1]);
    assert.deepEqual(idsOf(await search(`${q(w)}&sessionId=${s1.sessionId.toUpperCase()}`)), [m1]);
    assert.deepEqual(idsOf(await search(`${q(w)}&sessionId=${s1.sessionId}&userId=${userB}`)), []);
  });

  test("a filter's matches far behind newer matches of other sessions are found, and paged", async () => {
    // PostgreSQL takes the newest matches first and looks at their sessions after: here every
    // one of those is another user's, so the search must go further back (src/store/search.ts).
    const userC = '66666666-6666-4666-8666-666666666666';
    const theirs = await createSession(server, { userId: userC });
    const others = await createSession(server);
    const w = unique();
    const wanted = await store(theirs.sessionId, userC, [`${w} a`, `${w} b`, `${w} c`]);
    await store(
      others.sessionId,
      others.userId,
      Array.from({ length: 40 }, (_, i) => `${w} newer ${i}`),
    );
    const idsOf = (body: SearchPage) => body.results.map((r) => r.message.id);
    assert.deepEqual(idsOf(await search(`${q(w)}&userId=${userC}`)), [...wanted].reverse());
    const first = await search(`${q(w)}&userId=${userC}&limit=2`);
    assert.deepEqual(idsOf(first), [wanted[2], wanted[1]]);
    assert.equal(typeof first.nextCursor, 'string');
    const second = await search(`${q(w)}&userId=${userC}&limit=2&cursor=${encodeURIComponent(first.nextCursor)}`);
    assert.deepEqual(idsOf(second), [wanted[0]]);
    assert.equal(second.nextCursor, null);
    assert.equal((await search(`${q(w)}&userId=${userC}&sessionId=${others.sessionId}`)).results.length, 0);
  });
});

describe('who may search what', () => {
  test('a session token searches its own session only', async () => {
    const own = await createSession(server);
    const other = await createSession(server);
    const w = unique();
    const [mine] = await store(own.sessionId, own.userId, [`${w} mine`]);
    await store(other.sessionId, other.userId, [`${w} theirs`]);
    const body = await search(q(w), own.sessionToken);
    assert.deepEqual(
      body.results.map((r: SearchHit) => r.message.id),
      [mine],
    );
    assert.deepEqual(
      (await search(`${q(w)}&sessionId=${own.sessionId}`, own.sessionToken)).results.map((r: SearchHit) => r.message.id),
      [mine],
    );
    const refused = await server.request('GET', `${SEARCH}?${q(w)}&sessionId=${other.sessionId}`, { token: own.sessionToken });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'FORBIDDEN');
  });

  test('expired sessions are searched until purged; deleted ones are not', async () => {
    const w = unique();
    const expiring = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
    const deleted = await createSession(server);
    await store(expiring.sessionId, expiring.userId, [`${w} kept a while`]);
    await store(deleted.sessionId, deleted.userId, [`${w} deleted`]);
    assert.equal((await server.request('DELETE', `${BASE}/${deleted.sessionId}`)).status, 200);
    assert.deepEqual(contents(await search(q(w))), [`${w} kept a while`]);
    server.clock.advance(10 * MINUTE);
    assert.deepEqual(contents(await search(q(w))), [`${w} kept a while`], 'expired, not purged');
    server.clock.advance(60 * MINUTE);
    assert.deepEqual(contents(await search(q(w))), [], 'past retention');
  });
});

describe('refused', () => {
  test('q missing, empty, over 200 characters or without a word: 400 VALIDATION_ERROR', async () => {
    for (const qs of [
      '',
      'q=',
      `q=${'a'.repeat(201)}`,
      `q=${encodeURIComponent('?! -- ...')}`,
      'q=a&limit=0',
      'q=a&limit=101',
      'q=a&sessionId=nope',
    ]) {
      const res = await server.request('GET', `${SEARCH}?${qs}`);
      assert.equal(res.status, 400, qs);
      assert.equal(res.body.success, false);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR', qs);
    }
    assert.equal((await server.request('GET', `${SEARCH}?q=${'a'.repeat(200)}`)).status, 200);
    assert.equal((await server.request('GET', `${SEARCH}?q=${encodeURIComponent('北'.repeat(200))}`)).status, 200);
  });

  test('a cursor the server did not issue (or a list cursor): 400 INVALID_PAGINATION', async () => {
    const id = '5f0c7a43-52f5-4c2f-9d2c-5b8a4a0e9d11';
    for (const cursor of ['nope!', Buffer.from(`s.1.${id}`).toString('base64url'), Buffer.from(`m.x.${id}`).toString('base64url')]) {
      const res = await server.request('GET', `${SEARCH}?q=a&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(res.status, 400, cursor);
      assert.equal(res.body.error.code, 'INVALID_PAGINATION');
    }
    assert.equal((await server.request('GET', `${SEARCH}?q=a&cursor=${Buffer.from(`m.1.${id}`).toString('base64url')}`)).status, 200);
  });
});
