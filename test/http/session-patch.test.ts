/**
 * SPEC §10: `replyPolicy` at create and in SessionInfo; PATCH of the session (`metadata`,
 * `replyPolicy`): exact answers, what is stored, and what it must not change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { createSession, ELIZA, startServer, USER, type TestServer } from '../support/server.js';

const BASE = '/api/messaging/sessions';
let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const patch = (id: string, body: unknown, token?: string) => server.request('PATCH', `${BASE}/${id}`, { body, token });
const get = async (id: string) => (await server.request('GET', `${BASE}/${id}`)).body;

describe('replyPolicy at create', () => {
  test('enqueue by default; each policy is stored and shown', async () => {
    assert.equal((await createSession(server)).replyPolicy, 'enqueue');
    for (const replyPolicy of ['enqueue', 'reject', 'interrupt']) {
      const s = await createSession(server, { replyPolicy });
      assert.equal(s.replyPolicy, replyPolicy);
      assert.equal((await get(s.sessionId)).replyPolicy, replyPolicy);
    }
  });

  test('any other value is a 400 naming the field, and creates nothing', async () => {
    const before = (await server.request('GET', `${BASE}?userId=${USER}&status=all`)).body.total;
    for (const replyPolicy of ['cancel', '', null, 1]) {
      const res = await server.request('POST', BASE, { body: { agentId: ELIZA, userId: USER, replyPolicy } });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
      assert.match(res.body.error.details, /replyPolicy/);
    }
    assert.equal((await server.request('GET', `${BASE}?userId=${USER}&status=all`)).body.total, before);
  });
});

describe('PATCH /sessions/:id', () => {
  test('replyPolicy alone, metadata alone (replaced whole), both; not activity', async () => {
    const s = await createSession(server, { metadata: { a: 1, keep: 'no' } });
    server.clock.advance(MINUTE);
    const one = await patch(s.sessionId, { replyPolicy: 'reject' });
    assert.equal(one.status, 200, one.text);
    const { sessionToken: _token, ...info } = s;
    assert.deepEqual(one.body, { ...info, replyPolicy: 'reject', timeRemaining: s.timeRemaining - MINUTE });
    const two = await patch(s.sessionId, { metadata: { b: [1, { c: 'x' }] } });
    assert.equal(two.status, 200, two.text);
    assert.deepEqual(two.body.metadata, { b: [1, { c: 'x' }] });
    assert.equal(two.body.replyPolicy, 'reject', 'the policy is kept');
    const three = await patch(s.sessionId, { metadata: null, replyPolicy: 'interrupt' });
    assert.deepEqual([three.body.metadata, three.body.replyPolicy], [{}, 'interrupt']);
    const stored = await get(s.sessionId);
    assert.deepEqual([stored.metadata, stored.replyPolicy], [{}, 'interrupt']);
    assert.equal(stored.lastActivity, s.lastActivity, 'not activity');
    assert.equal(stored.expiresAt, s.expiresAt);
    assert.equal(stored.renewalCount, 0);
    const events = await server.app.store.eventsAfter(s.sessionId, 0, 100);
    assert.deepEqual(
      events.filter((e) => (e.type as string) !== 'session.created'),
      [],
      'no event',
    );
  });

  test('bad bodies are 400 and change nothing', async () => {
    const s = await createSession(server, { metadata: { a: 1 }, replyPolicy: 'reject' });
    const cases: Array<[unknown, RegExp]> = [
      [{}, /at least one/],
      [{ replyPolicy: 'later' }, /replyPolicy/],
      [{ timeoutConfig: { timeoutMinutes: 10 } }, /timeoutConfig: is not a known field/],
      [{ replyPolicy: 'enqueue', status: 'expired' }, /status: is not a known field/],
      [{ metadata: 'x' }, /metadata/],
      [{ metadata: { a: { b: { c: { d: { e: { f: 1 } } } } } } }, /metadata/],
      [{ metadata: { big: 'x'.repeat(17_000) } }, /metadata/],
    ];
    for (const [body, details] of cases) {
      const res = await patch(s.sessionId, body);
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
      assert.match(res.body.error.details, details);
    }
    const raw = await server.request('PATCH', `${BASE}/${s.sessionId}`, {
      raw: '{"metadata":{"__proto__":{"x":1}}}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(raw.status, 400);
    const stored = await get(s.sessionId);
    assert.deepEqual([stored.metadata, stored.replyPolicy], [{ a: 1 }, 'reject']);
  });

  test('404 for an unknown or malformed id; 410 once expired', async () => {
    assert.equal((await patch('5b0a3d0e-4d7a-4f6c-9a59-2d2b8e3c1f00', { replyPolicy: 'reject' })).body.error.code, 'SESSION_NOT_FOUND');
    assert.equal((await patch('not-a-uuid', { replyPolicy: 'reject' })).status, 404);
    const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
    server.clock.advance(5 * MINUTE);
    const res = await patch(s.sessionId, { replyPolicy: 'reject' });
    assert.equal(res.status, 410);
    assert.equal(res.body.error.code, 'SESSION_EXPIRED');
    assert.equal(res.body.error.expiresAt, s.expiresAt);
  });

  test("a session token is refused, even its own session's", async () => {
    const s = await createSession(server);
    const res = await patch(s.sessionId, { replyPolicy: 'reject' }, s.sessionToken);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'FORBIDDEN');
    assert.equal((await get(s.sessionId)).replyPolicy, 'enqueue');
  });
});
