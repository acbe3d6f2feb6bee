/**
 * The sessions API when things go wrong: every 4xx the SPEC lists for the session routes, with
 * the exact error envelope, and proof that a refused request changed nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { createSession, ELIZA, startServer, USER, type TestResponse, type TestServer } from '../support/server.js';

const BASE = '/api/messaging/sessions';
const iso = (ms: number) => new Date(ms).toISOString();

/** The SPEC's envelope: `{success:false, error:{code, message, details?, ...}}`, no stack trace. */
function assertError(res: TestResponse, status: number, code: string, extra: Record<string, unknown> = {}): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body?.success, false, res.text);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(res.body.error.message.length > 0);
  const { message: _message, details, ...rest } = res.body.error;
  if (details !== undefined) assert.equal(typeof details, 'string');
  assert.deepEqual(rest, { code, ...extra });
  assert.deepEqual(Object.keys(res.body).sort(), ['error', 'success']);
  assert.doesNotMatch(res.text, /\n\s+at /);
}

/** 400 VALIDATION_ERROR whose details name every given field. */
function assertValidation(res: TestResponse, ...fields: string[]): void {
  assertError(res, 400, 'VALIDATION_ERROR');
  assert.equal(typeof res.body.error.details, 'string', res.text);
  for (const field of fields) assert.ok(res.body.error.details.includes(field), `details should name ${field}: ${res.body.error.details}`);
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const create = (body: unknown) => server.request('POST', BASE, { body });
const countSessions = async (s: TestServer = server) => (await s.request('GET', `${BASE}?status=all`)).body.total as number;

describe('create: validation', () => {
  test('missing agentId and userId: 400 naming both', async () => {
    assertValidation(await create({}), 'agentId', 'userId');
    assertValidation(await create({ userId: USER }), 'agentId');
    assertValidation(await create({ agentId: ELIZA }), 'userId');
    const both = await create({});
    assert.doesNotMatch(both.body.error.details, /metadata|timeoutConfig/);
  });

  test('agentId and userId must be UUID strings', async () => {
    assertValidation(await create({ agentId: 'eliza', userId: USER }), 'agentId');
    assertValidation(await create({ agentId: ELIZA, userId: 'bob' }), 'userId');
    assertValidation(await create({ agentId: ELIZA, userId: 42 }), 'userId');
    // The 36 characters only: a `urn:uuid:` prefix would make the same user look like another.
    assertValidation(await create({ agentId: ELIZA, userId: `urn:uuid:${USER}` }), 'userId');
    assertValidation(await create({ agentId: `URN:UUID:${ELIZA}`, userId: USER }), 'agentId');
    assertValidation(await create({ agentId: ELIZA, userId: `{${USER}}` }), 'userId');
    assert.equal(await countSessions(), 0, 'nothing was created');
  });

  test('no body, a null or an array body: 400 VALIDATION_ERROR', async () => {
    assertValidation(await server.request('POST', BASE));
    assertValidation(await server.request('POST', BASE, { raw: 'null', headers: { 'content-type': 'application/json' } }));
    assertValidation(await server.request('POST', BASE, { raw: '[]', headers: { 'content-type': 'application/json' } }));
  });

  test('unknown agent: 404 AGENT_NOT_FOUND', async () => {
    const agentId = '99999999-9999-4999-8999-999999999999';
    assertError(await create({ agentId, userId: USER }), 404, 'AGENT_NOT_FOUND', { agentId });
  });

  test('timeoutConfig out of range is rejected, never clamped', async () => {
    const before = await countSessions();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ timeoutMinutes: 4 }, 'timeoutConfig.timeoutMinutes'],
      [{ timeoutMinutes: 1441 }, 'timeoutConfig.timeoutMinutes'],
      [{ timeoutMinutes: 0 }, 'timeoutConfig.timeoutMinutes'],
      [{ timeoutMinutes: 30.5 }, 'timeoutConfig.timeoutMinutes'],
      [{ timeoutMinutes: '30' }, 'timeoutConfig.timeoutMinutes'],
      [{ maxDurationMinutes: 0 }, 'timeoutConfig.maxDurationMinutes'],
      [{ maxDurationMinutes: 4321 }, 'timeoutConfig.maxDurationMinutes'],
      [{ warningThresholdMinutes: 0 }, 'timeoutConfig.warningThresholdMinutes'],
      [{ warningThresholdMinutes: 61 }, 'timeoutConfig.warningThresholdMinutes'],
      [{ autoRenew: 'yes' }, 'timeoutConfig.autoRenew'],
      [{ autoRenew: 1 }, 'timeoutConfig.autoRenew'],
      [{ timeoutMinutes: 30, color: 'blue' }, 'timeoutConfig.color'],
    ];
    for (const [timeoutConfig, field] of cases) {
      assertValidation(await create({ agentId: ELIZA, userId: USER, timeoutConfig }), field);
    }
    assertValidation(await create({ agentId: ELIZA, userId: USER, timeoutConfig: 'long' }), 'timeoutConfig');
    assert.equal(await countSessions(), before, 'a refused create stores nothing');
  });

  test('the bounds at their edges are accepted', async () => {
    for (const timeoutConfig of [
      { timeoutMinutes: 5, maxDurationMinutes: 1, warningThresholdMinutes: 1 },
      { timeoutMinutes: 1440, maxDurationMinutes: 4320, warningThresholdMinutes: 60 },
    ]) {
      const res = await create({ agentId: ELIZA, userId: USER, timeoutConfig });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.timeoutConfig, { autoRenew: true, ...timeoutConfig });
    }
  });

  test('operators can widen the bounds: SESSION_MIN_TIMEOUT_MINUTES=1 accepts 1', async () => {
    const wide = await startServer({ SESSION_MIN_TIMEOUT_MINUTES: '1' });
    try {
      const t0 = wide.clock.now();
      const res = await wide.request('POST', BASE, { body: { agentId: ELIZA, userId: USER, timeoutConfig: { timeoutMinutes: 1 } } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.timeoutConfig.timeoutMinutes, 1);
      assert.equal(res.body.expiresAt, iso(t0 + MINUTE));
      assertValidation(
        await wide.request('POST', BASE, { body: { agentId: ELIZA, userId: USER, timeoutConfig: { timeoutMinutes: 0 } } }),
        'timeoutConfig.timeoutMinutes',
      );
    } finally {
      await wide.close();
    }
  });

  test('operators can narrow the bounds: SESSION_MAX_TIMEOUT_MINUTES=60 refuses 61', async () => {
    const narrow = await startServer({ SESSION_MAX_TIMEOUT_MINUTES: '60' });
    try {
      assertValidation(
        await narrow.request('POST', BASE, { body: { agentId: ELIZA, userId: USER, timeoutConfig: { timeoutMinutes: 61 } } }),
        'timeoutConfig.timeoutMinutes',
      );
      assert.equal(await countSessions(narrow), 0);
    } finally {
      await narrow.close();
    }
  });

  test('metadata must be a small, shallow JSON object without prototype keys', async () => {
    const before = await countSessions();
    // The metadata object is level 1; every object or array inside adds one: six levels here.
    const deep = { l2: { l3: { l4: { l5: { l6: { value: 'too deep' } } } } } };
    const cases: unknown[] = [[1, 2], 'text', 42, { big: 'x'.repeat(16_384) }, deep, { a: { list: [[[[1]]]] } }];
    for (const metadata of cases) {
      assertValidation(await create({ agentId: ELIZA, userId: USER, metadata }), 'metadata');
    }
    for (const raw of [
      `{"agentId":"${ELIZA}","userId":"${USER}","metadata":{"__proto__":{"admin":true}}}`,
      `{"agentId":"${ELIZA}","userId":"${USER}","metadata":{"a":{"constructor":{"prototype":1}}}}`,
      `{"agentId":"${ELIZA}","userId":"${USER}","metadata":{"list":[{"prototype":1}]}}`,
    ]) {
      assertValidation(await server.request('POST', BASE, { raw, headers: { 'content-type': 'application/json' } }));
    }
    assert.equal(await countSessions(), before);

    // Exactly at the limits: five levels, 16,384 bytes.
    const fiveLevels = { l2: { l3: { l4: { l5: { value: 'deep enough' } } } } };
    assert.equal((await create({ agentId: ELIZA, userId: USER, metadata: fiveLevels })).status, 201);
    const filler = 'x'.repeat(16_384 - JSON.stringify({ big: '' }).length);
    const atLimit = await create({ agentId: ELIZA, userId: USER, metadata: { big: filler } });
    assert.equal(atLimit.status, 201, atLimit.text);
  });
});

describe('list: validation', () => {
  test('limit 0 and 101, bad offset, status or ids: 400 VALIDATION_ERROR', async () => {
    for (const [qs, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['offset=-1', 'offset'],
      ['status=deleted', 'status'],
      ['agentId=eliza', 'agentId'],
      ['userId=42', 'userId'],
      [`userId=urn:uuid:${USER}`, 'userId'],
    ]) {
      assertValidation(await server.request('GET', `${BASE}?${qs}`), field!);
    }
  });
});

describe('unknown and malformed session ids', () => {
  const unknown = '99999999-9999-4999-8999-999999999999';
  const routes = (id: string): Array<[string, string, unknown?]> => [
    ['GET', `${BASE}/${id}`],
    ['DELETE', `${BASE}/${id}`],
    ['POST', `${BASE}/${id}/renew`],
    ['POST', `${BASE}/${id}/heartbeat`],
    ['PATCH', `${BASE}/${id}/timeout`, { timeoutMinutes: 30 }],
    ['GET', `${BASE}/${id}/messages`],
    ['POST', `${BASE}/${id}/messages`, { content: 'hello' }],
  ];

  test('a well-formed id nobody created: 404 SESSION_NOT_FOUND everywhere', async () => {
    for (const [method, path, body] of routes(unknown)) {
      assertError(await server.request(method, path, { body }), 404, 'SESSION_NOT_FOUND', { sessionId: unknown });
    }
  });

  test('a malformed id: 404 SESSION_NOT_FOUND everywhere', async () => {
    for (const id of ['not-a-uuid', '123', '99999999-9999-4999-8999-99999999999g', `${unknown}x`, 'x'.repeat(250), '%E0%A4%A']) {
      for (const [method, path, body] of routes(id)) {
        const res = await server.request(method, path, { body });
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
        assert.equal(res.body?.success, false, `${method} ${path}: ${res.text}`);
        assert.equal(res.body.error.code, 'SESSION_NOT_FOUND', `${method} ${path}: ${res.text}`);
      }
    }
  });
});

describe('renew at the max-duration cap', () => {
  test('422 SESSION_RENEWAL_FAILED, and nothing changes', async () => {
    const t0 = server.clock.now();
    const created = await createSession(server, { timeoutConfig: { timeoutMinutes: 30, maxDurationMinutes: 40 } });
    const id = created.sessionId;
    server.clock.advance(15 * MINUTE);
    const first = await server.request('POST', `${BASE}/${id}/renew`);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.expiresAt, iso(t0 + 40 * MINUTE));
    const before = (await server.request('GET', `${BASE}/${id}`)).body;

    server.clock.advance(5 * MINUTE);
    const capped = await server.request('POST', `${BASE}/${id}/renew`);
    assertError(capped, 422, 'SESSION_RENEWAL_FAILED', { sessionId: id, expiresAt: iso(t0 + 40 * MINUTE) });

    const after = (await server.request('GET', `${BASE}/${id}`)).body;
    assert.deepEqual({ ...after, timeRemaining: before.timeRemaining }, before);
    assert.equal(after.renewalCount, 1);
    assert.equal(after.lastActivity, iso(t0 + 15 * MINUTE), 'a failed renewal is not activity');
    const stored = await server.app.store.getSession(id);
    assert.equal(stored?.lastRenewal, t0 + 15 * MINUTE);
  });

  test('maxDurationMinutes below timeoutMinutes: the first renewal already fails', async () => {
    const created = await createSession(server, { timeoutConfig: { timeoutMinutes: 30, maxDurationMinutes: 10 } });
    server.clock.advance(MINUTE);
    const res = await server.request('POST', `${BASE}/${created.sessionId}/renew`);
    assertError(res, 422, 'SESSION_RENEWAL_FAILED', { sessionId: created.sessionId, expiresAt: created.expiresAt });
    assert.equal((await server.request('GET', `${BASE}/${created.sessionId}`)).body.renewalCount, 0);
  });
});

describe('PATCH timeout: validation', () => {
  const patch = (id: string, body: unknown) => server.request('PATCH', `${BASE}/${id}/timeout`, { body });

  test('out of range, wrong types, unknown or nested keys: 400, never clamped', async () => {
    const created = await createSession(server);
    const before = (await server.request('GET', `${BASE}/${created.sessionId}`)).body;
    const cases: Array<[unknown, string]> = [
      [{ timeoutMinutes: 4 }, 'timeoutMinutes'],
      [{ timeoutMinutes: 1441 }, 'timeoutMinutes'],
      [{ timeoutMinutes: 45.5 }, 'timeoutMinutes'],
      [{ timeoutMinutes: '45' }, 'timeoutMinutes'],
      [{ maxDurationMinutes: 0 }, 'maxDurationMinutes'],
      [{ maxDurationMinutes: 4321 }, 'maxDurationMinutes'],
      [{ warningThresholdMinutes: 0 }, 'warningThresholdMinutes'],
      [{ warningThresholdMinutes: 61 }, 'warningThresholdMinutes'],
      [{ autoRenew: 'false' }, 'autoRenew'],
      [{ timeoutMinutes: 60, sticky: true }, 'sticky'],
      [{ timeoutConfig: { timeoutMinutes: 60 } }, 'timeoutConfig'],
      [[{ timeoutMinutes: 60 }], 'body'],
    ];
    for (const [body, field] of cases) assertValidation(await patch(created.sessionId, body), field);
    assert.deepEqual((await server.request('GET', `${BASE}/${created.sessionId}`)).body, before);
  });

  test('a change that would expire the session now: 400, nothing changes', async () => {
    const t0 = server.clock.now();
    const created = await createSession(server);
    server.clock.advance(20 * MINUTE);
    // The 400 names the field that would expire it, not the whole configuration.
    const refused = await patch(created.sessionId, { timeoutMinutes: 5 });
    assertValidation(refused, 'timeoutMinutes');
    assert.ok(!refused.body.error.details.includes('timeoutConfig'), refused.body.error.details);
    // expiresAt == now counts as expired, so a cap landing exactly on now is refused too.
    assertValidation(await patch(created.sessionId, { maxDurationMinutes: 20 }), 'maxDurationMinutes');
    assertValidation(await patch(created.sessionId, { timeoutMinutes: 10, maxDurationMinutes: 60 }), 'timeoutMinutes');
    // Both would expire it: the cap, given in the request, is named.
    assertValidation(await patch(created.sessionId, { timeoutMinutes: 5, maxDurationMinutes: 15 }), 'maxDurationMinutes');
    const after = (await server.request('GET', `${BASE}/${created.sessionId}`)).body;
    assert.deepEqual(after.timeoutConfig, { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 });
    assert.equal(after.expiresAt, iso(t0 + 30 * MINUTE));
    // One minute more is fine.
    const ok = await patch(created.sessionId, { maxDurationMinutes: 21 });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.expiresAt, iso(t0 + 21 * MINUTE));
  });

  test('widened bounds apply to PATCH as well', async () => {
    const wide = await startServer({ SESSION_MIN_TIMEOUT_MINUTES: '1' });
    try {
      const created = await createSession(wide);
      const res = await wide.request('PATCH', `${BASE}/${created.sessionId}/timeout`, { body: { timeoutMinutes: 1 } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.timeoutConfig.timeoutMinutes, 1);
    } finally {
      await wide.close();
    }
  });
});

describe('expired sessions', () => {
  test('410 SESSION_EXPIRED with expiresAt on get, send, history, renew, heartbeat and PATCH', async () => {
    const t0 = server.clock.now();
    const created = await createSession(server);
    const id = created.sessionId;
    server.clock.advance(30 * MINUTE); // now == expiresAt: expired
    const expected = { sessionId: id, expiresAt: iso(t0 + 30 * MINUTE) };
    for (const [method, path, body] of [
      ['GET', `${BASE}/${id}`],
      ['POST', `${BASE}/${id}/messages`, { content: 'anyone there?' }],
      ['POST', `${BASE}/${id}/messages`, { content: 'anyone there?', transport: 'http' }],
      ['POST', `${BASE}/${id}/messages`, { content: 'anyone there?', transport: 'sse' }],
      ['GET', `${BASE}/${id}/messages`],
      ['POST', `${BASE}/${id}/renew`],
      ['POST', `${BASE}/${id}/heartbeat`],
      ['PATCH', `${BASE}/${id}/timeout`, { timeoutMinutes: 120 }],
      ['PATCH', `${BASE}/${id}/timeout`, {}],
    ] as Array<[string, string, unknown?]>) {
      assertError(await server.request(method, path, { body }), 410, 'SESSION_EXPIRED', expected);
    }
    // Nothing was stored or revived.
    assert.deepEqual(await server.app.store.recentMessages(id, 10), []);
    const stored = await server.app.store.getSession(id);
    assert.equal(stored?.expiresAt, t0 + 30 * MINUTE);
    assert.equal(stored?.renewalCount, 0);
    assert.equal(stored?.lastActivity, t0);
    assert.equal(stored?.config.timeoutMinutes, 30);
  });

  test('one millisecond before expiresAt everything still works', async () => {
    const created = await createSession(server);
    server.clock.advance(30 * MINUTE - 1);
    const beat = await server.request('POST', `${BASE}/${created.sessionId}/heartbeat`);
    assert.equal(beat.status, 200, beat.text);
    assert.equal(beat.body.renewalCount, 1);
  });
});

describe('retention', () => {
  let kept: TestServer;
  before(async () => {
    kept = await startServer({ SESSION_RETENTION_MINUTES: '60' });
  });
  after(() => kept.close());

  test('past the retention period the id answers 404, even before the purge runs', async () => {
    const t0 = kept.clock.now();
    const created = await createSession(kept);
    const id = created.sessionId;
    const sent = await kept.request('POST', `${BASE}/${id}/messages`, { body: { content: 'remember me', transport: 'http' } });
    assert.equal(sent.status, 201, sent.text);

    kept.clock.set(t0 + 30 * MINUTE + 60 * MINUTE - 1);
    assertError(await kept.request('GET', `${BASE}/${id}`), 410, 'SESSION_EXPIRED', { sessionId: id, expiresAt: iso(t0 + 30 * MINUTE) });
    assert.equal((await kept.request('GET', `${BASE}?status=expired`)).body.total, 1);

    kept.clock.advance(1);
    for (const [method, path, body] of [
      ['GET', `${BASE}/${id}`],
      ['GET', `${BASE}/${id}/messages`],
      ['POST', `${BASE}/${id}/messages`, { content: 'hello?' }],
      ['POST', `${BASE}/${id}/renew`],
      ['POST', `${BASE}/${id}/heartbeat`],
      ['PATCH', `${BASE}/${id}/timeout`, { timeoutMinutes: 60 }],
      ['DELETE', `${BASE}/${id}`],
    ] as Array<[string, string, unknown?]>) {
      assertError(await kept.request(method, path, { body }), 404, 'SESSION_NOT_FOUND', { sessionId: id });
    }
    const listed = (await kept.request('GET', `${BASE}?status=all`)).body;
    assert.deepEqual(listed.sessions, []);
    assert.deepEqual(listed.stats, { totalSessions: 0, activeSessions: 0, expiredSessions: 0 });
  });

  test('maintenance purges the rows of sessions past retention, and only those', async () => {
    const t0 = kept.clock.now();
    const old = await createSession(kept);
    await kept.request('POST', `${BASE}/${old.sessionId}/messages`, { body: { content: 'old news', transport: 'http' } });
    kept.clock.advance(60 * MINUTE);
    const recent = await createSession(kept, { timeoutConfig: { timeoutMinutes: 5 } });
    await kept.request('POST', `${BASE}/${recent.sessionId}/messages`, { body: { content: 'fresh news', transport: 'http' } });
    kept.clock.set(t0 + 30 * MINUTE + 60 * MINUTE); // old: retention over; recent: expired, still kept
    assert.ok(await kept.app.store.getSession(old.sessionId), 'rows stay until the purge');

    const purged = await kept.app.maintenance.runOnce();
    assert.ok(purged >= 1, `purged ${purged}`);
    assert.equal(await kept.app.store.getSession(old.sessionId), undefined);
    assert.deepEqual(await kept.app.store.recentMessages(old.sessionId, 10), []);

    assert.ok(await kept.app.store.getSession(recent.sessionId));
    assert.equal((await kept.app.store.recentMessages(recent.sessionId, 10)).length, 2);
    assertError(await kept.request('GET', `${BASE}/${recent.sessionId}`), 410, 'SESSION_EXPIRED', {
      sessionId: recent.sessionId,
      expiresAt: recent.expiresAt,
    });
    assert.equal(await kept.app.maintenance.runOnce(), 0, 'a second pass finds nothing');
  });
});
