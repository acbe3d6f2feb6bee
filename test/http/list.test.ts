/**
 * The session list's metadata filters and keyset cursor (SPEC §4, §12): exact pages, every
 * session visited exactly once while others are created between pages, refused cursors and
 * filter keys, and filters on strings, numbers and booleans.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSession, startServer, type TestServer } from '../support/server.js';
import type { SessionInfo } from '../../src/domain/session.js';

const BASE = '/api/messaging/sessions';
let server: TestServer;

before(async () => {
  server = await startServer();
});
after(() => server.close());

async function list(qs: string) {
  const res = await server.request('GET', `${BASE}${qs}`);
  assert.equal(res.status, 200, res.text);
  return res.body;
}

/** Follows nextCursor from the first page to the last; the ids in the order seen. */
async function walk(qs: string, between?: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  let page = await list(qs);
  for (;;) {
    seen.push(...page.sessions.map((s: SessionInfo) => s.sessionId));
    if (page.nextCursor === null) return seen;
    assert.equal(typeof page.nextCursor, 'string');
    await between?.();
    page = await list(`${qs}&cursor=${encodeURIComponent(page.nextCursor)}`);
    assert.equal(page.offset, 0);
  }
}

describe('cursor', () => {
  test('following nextCursor visits every session once, newest first, the same order as offset paging', async () => {
    const tag = `walk-${Date.now()}`;
    const made: string[] = [];
    for (let i = 0; i < 11; i++) {
      // Some sessions share a millisecond: the id breaks the tie.
      if (i % 3 === 0) server.clock.advance(1);
      made.push((await createSession(server, { metadata: { tag } })).sessionId);
    }
    const byOffset = (await list(`?metadata.tag=${tag}&limit=100`)).sessions.map((s: SessionInfo) => s.sessionId);
    assert.equal(byOffset.length, 11);
    assert.deepEqual([...byOffset].sort(), [...made].sort());
    for (const limit of [1, 3, 11, 100]) {
      assert.deepEqual(await walk(`?metadata.tag=${tag}&limit=${limit}`), byOffset, `limit ${limit}`);
    }
    const last = await list(`?metadata.tag=${tag}&limit=11`);
    assert.equal(last.nextCursor, null);
    const first = await list(`?metadata.tag=${tag}&limit=10`);
    assert.notEqual(first.nextCursor, null);
  });

  test('sessions created while paging do not make the walk skip or repeat any', async () => {
    const tag = `busy-${Date.now()}`;
    const before: string[] = [];
    for (let i = 0; i < 9; i++) {
      server.clock.advance(1);
      before.push((await createSession(server, { metadata: { tag } })).sessionId);
    }
    const added: string[] = [];
    const seen = await walk(`?metadata.tag=${tag}&limit=2`, async () => {
      // Two newer sessions between every two pages, one in the same millisecond as the newest.
      added.push((await createSession(server, { metadata: { tag } })).sessionId);
      server.clock.advance(1);
      added.push((await createSession(server, { metadata: { tag } })).sessionId);
    });
    assert.equal(new Set(seen).size, seen.length, 'no session twice');
    for (const id of before) assert.equal(seen.filter((s) => s === id).length, 1);
    // Only the sessions that existed when the walk began, newest first.
    assert.deepEqual(
      seen.filter((id) => !added.includes(id)),
      [...before].reverse(),
    );
  });

  test('works with status, agentId and userId', async () => {
    const userId = '44444444-4444-4444-8444-444444444444';
    for (let i = 0; i < 5; i++) {
      server.clock.advance(1);
      await createSession(server, { userId });
    }
    const all = (await list(`?userId=${userId}&status=all&limit=100`)).sessions.map((s: SessionInfo) => s.sessionId);
    assert.equal(all.length, 5);
    assert.deepEqual(await walk(`?userId=${userId}&status=all&limit=2`), all);
    assert.deepEqual(await walk(`?userId=${userId}&agentId=00000000-0000-4000-8000-000000000001&limit=2`), all);
  });

  test('cursor with offset, or a cursor the server did not issue: 400 INVALID_PAGINATION', async () => {
    await createSession(server);
    await createSession(server);
    const { nextCursor } = await list('?limit=1');
    assert.equal(typeof nextCursor, 'string');
    const s = (text: string) => Buffer.from(text).toString('base64url');
    const id = '5f0c7a43-52f5-4c2f-9d2c-5b8a4a0e9d11';
    const refused = [
      `cursor=${nextCursor}&offset=0`,
      `cursor=${nextCursor}&offset=5`,
      'cursor=garbage!',
      `cursor=${s('hello')}`,
      `cursor=${s(`s.12.${id.toUpperCase()}`)}`,
      `cursor=${s(`s.012.${id}`)}`,
      `cursor=${s(`s.-1.${id}`)}`,
      `cursor=${s(`s.1.5.${id}`)}`,
      `cursor=${s(`m.12.${id}`)}`, // a search cursor
      `cursor=${s(`s.12.${id}`)}=`,
      `cursor=${nextCursor}x`,
      'cursor=',
    ];
    for (const qs of refused) {
      const res = await server.request('GET', `${BASE}?${qs}`);
      assert.equal(res.status, 400, qs);
      assert.equal(res.body.success, false);
      assert.equal(res.body.error.code, 'INVALID_PAGINATION', qs);
    }
  });
});

describe('metadata filters', () => {
  let tag: string;
  let ids: Record<string, string>;

  before(async () => {
    tag = `meta-${Date.now()}`;
    const metadata: Record<string, Record<string, unknown>> = {
      a: { tag, plan: 'pro', tier: 3, vip: true },
      b: { tag, plan: 'pro', tier: '3', vip: false },
      c: { tag, plan: 'free', tier: 3.5, vip: 'true' },
      d: { tag, plan: { name: 'pro' }, tier: null, 'odd-key_1': 'x y' },
      e: { tag },
    };
    ids = {};
    for (const [name, m] of Object.entries(metadata)) {
      server.clock.advance(1);
      ids[name] = (await createSession(server, { metadata: m })).sessionId;
    }
  });

  const names = async (qs: string) => {
    const body = await list(`?metadata.tag=${tag}&${qs}`);
    const found = body.sessions.map((s: SessionInfo) => Object.keys(ids).find((k) => ids[k] === s.sessionId));
    assert.equal(body.total, found.length, `total of ${qs}`);
    return found.sort();
  };

  test('a string as is', async () => {
    assert.deepEqual(await names('metadata.plan=pro'), ['a', 'b']);
    assert.deepEqual(await names('metadata.plan=free'), ['c']);
    assert.deepEqual(await names('metadata.plan=Pro'), []);
    assert.deepEqual(await names('metadata.odd-key_1=x%20y'), ['d']);
  });

  test('a number or a boolean by its JSON text; objects and null match nothing', async () => {
    assert.deepEqual(await names('metadata.tier=3'), ['a', 'b']);
    assert.deepEqual(await names('metadata.tier=3.0'), []);
    assert.deepEqual(await names('metadata.tier=3.5'), ['c']);
    assert.deepEqual(await names('metadata.vip=true'), ['a', 'c']);
    assert.deepEqual(await names('metadata.vip=false'), ['b']);
    assert.deepEqual(await names('metadata.tier=null'), []);
    assert.deepEqual(await names(`metadata.plan=${encodeURIComponent('{"name":"pro"}')}`), []);
  });

  test('every filter must hold, also the same key twice', async () => {
    assert.deepEqual(await names('metadata.plan=pro&metadata.vip=true'), ['a']);
    assert.deepEqual(await names('metadata.plan=pro&metadata.plan=free'), []);
    assert.deepEqual(await names('metadata.plan=pro&metadata.plan=pro'), ['a', 'b']);
    assert.deepEqual(await names('metadata.missing=x'), []);
  });

  test('with the cursor', async () => {
    const all = (await list(`?metadata.tag=${tag}&limit=100`)).sessions.map((s: SessionInfo) => s.sessionId);
    assert.deepEqual(
      all,
      ['e', 'd', 'c', 'b', 'a'].map((k) => ids[k]),
    );
    assert.deepEqual(await walk(`?metadata.tag=${tag}&limit=2`), all);
  });

  test('a key that is not 1–64 of A-Z a-z 0-9 _ -: 400 VALIDATION_ERROR', async () => {
    for (const key of ['', 'a.b', 'a%20b', 'ü', 'x'.repeat(65), '__proto__%24']) {
      const res = await server.request('GET', `${BASE}?metadata.${key}=1`);
      assert.equal(res.status, 400, key);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR', key);
      assert.match(res.body.error.details, /^metadata\./);
    }
    assert.equal((await server.request('GET', `${BASE}?metadata.${'x'.repeat(64)}=1`)).status, 200);
    for (const value of ['a%00b', 'x'.repeat(4097)]) {
      const res = await server.request('GET', `${BASE}?metadata.plan=${value}`);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    }
    assert.equal((await server.request('GET', `${BASE}?metadata.plan=${'x'.repeat(4096)}`)).status, 200);
  });
});
