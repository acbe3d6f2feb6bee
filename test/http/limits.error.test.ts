/**
 * Input the API must refuse rather than guess at, each with the exact status and envelope and
 * nothing stored: dates that name no instant, numbers written in anything but plain digits or
 * beyond what a store can page to, bodies in another charset or not UTF-8 at all, NUL
 * characters, ids that are no ids.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ELIZA, USER, createSession, startServer, type TestResponse, type TestServer } from '../support/server.js';
import { storeSnapshot } from '../support/snapshot.js';

const S = '/api/messaging/sessions';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

function assertEnvelope(res: TestResponse, status: number, code: string, field?: string) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body?.success, false, res.text);
  assert.equal(res.body.error.code, code, res.text);
  assert.equal(typeof res.body.error.message, 'string');
  if (field !== undefined) assert.match(res.body.error.details ?? '', new RegExp(field), res.text);
}

/** Sends raw bytes with a chosen content type. */
const sendBytes = (path: string, bytes: Uint8Array | string, contentType: string, method = 'POST') =>
  server.request(method, path, { raw: bytes, headers: { 'content-type': contentType } });

describe('dates name a real instant', () => {
  test('a key expiring on a leap second is 400 naming expiresAt, and no key is stored', async () => {
    const before = await storeSnapshot(server);
    for (const expiresAt of ['2030-12-31T23:59:60Z', '2030-06-30T23:59:60.500Z', '2030-12-31T23:59:60+00:00']) {
      const res = await server.request('POST', '/api/keys', { body: { name: 'forever', scopes: ['sessions:read'], expiresAt } });
      assertEnvelope(res, 400, 'VALIDATION_ERROR', 'expiresAt');
    }
    assert.deepEqual(await storeSnapshot(server), before);
  });

  test('the store refuses an expiry that is not a number of milliseconds', async () => {
    const record = {
      id: '33333333-3333-4333-8333-333333333333',
      name: 'nan',
      scopes: ['sessions:read' as const],
      keyHash: 'x'.repeat(64),
      prefix: 'ask_nan',
      createdAt: server.clock.now(),
      expiresAt: Number.NaN,
      lastUsedAt: null,
    };
    await assert.rejects(server.app.store.insertApiKey(record));
    assert.equal(
      (await server.app.store.listApiKeys()).some((k) => k.id === record.id),
      false,
    );
  });

  test('history cursors on a leap second are 400 INVALID_PAGINATION', async () => {
    const session = await createSession(server);
    const res = await server.request('GET', `${S}/${session.sessionId}/messages?before=2030-12-31T23:59:60Z`);
    assertEnvelope(res, 400, 'INVALID_PAGINATION', 'before');
  });
});

describe('numbers are plain decimal digits, within what a store can page to', () => {
  test('offset=1e20 and offset=9223372036854775807 are 400 naming offset', async () => {
    for (const offset of ['1e20', '9223372036854775807', '99999999999999999999', '9007199254740992']) {
      assertEnvelope(await server.request('GET', `${S}?offset=${offset}`), 400, 'VALIDATION_ERROR', 'offset');
    }
    const largest = await server.request('GET', `${S}?offset=${Number.MAX_SAFE_INTEGER}`);
    assert.equal(largest.status, 200, largest.text);
    assert.deepEqual(largest.body.sessions, []);
    assert.equal(largest.body.offset, Number.MAX_SAFE_INTEGER);
  });

  test('limit=0x10, +5, 1e1, " 5", 5.0 and an empty value are 400 naming limit', async () => {
    for (const limit of ['0x10', '%2B5', '1e1', '%205', '5%20', '5.0', '', '0b1', 'Infinity']) {
      assertEnvelope(await server.request('GET', `${S}?limit=${limit}`), 400, 'VALIDATION_ERROR', 'limit');
    }
    const plain = await server.request('GET', `${S}?limit=5&offset=0`);
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.body.limit, 5);
  });

  test('a boolean query value is true or false, nothing else', async () => {
    const agent = await server.request('POST', '/api/agents', { body: { name: 'Kept', provider: { type: 'eliza' } } });
    assert.equal(agent.status, 201, agent.text);
    const before = await storeSnapshot(server);
    for (const force of ['1', 'yes', '', 'TRUE ']) {
      const res = await server.request('DELETE', `/api/agents/${agent.body.id}?force=${encodeURIComponent(force)}`);
      assertEnvelope(res, 400, 'VALIDATION_ERROR', 'force');
    }
    assert.deepEqual(await storeSnapshot(server), before);
  });
});

describe('bodies are UTF-8 JSON', () => {
  test('a charset other than UTF-8 is 415, nothing stored', async () => {
    const before = await storeSnapshot(server);
    const json = JSON.stringify({ agentId: ELIZA, userId: USER });
    for (const type of [
      'application/json; charset=utf-16',
      'application/json;charset="latin1"',
      'application/json; charset=iso-8859-1',
      'application/json; charset=',
    ]) {
      assertEnvelope(await sendBytes(S, json, type), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    assert.deepEqual(await storeSnapshot(server), before);
    for (const type of ['application/json; charset=utf-8', 'application/json; charset="UTF-8"']) {
      const res = await sendBytes(S, json, type);
      assert.equal(res.status, 201, `${type}: ${res.text}`);
    }
  });

  test('invalid UTF-8 is 400, not silently replaced by U+FFFD', async () => {
    const session = await createSession(server);
    const before = await storeSnapshot(server);
    const prefix = Buffer.from('{"content":"caf');
    const suffix = Buffer.from('"}');
    for (const bad of [[0xe9], [0xc3], [0xed, 0xa0, 0x80], [0xff, 0xfe], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      const res = await sendBytes(
        `${S}/${session.sessionId}/messages`,
        Buffer.concat([prefix, Buffer.from(bad), suffix]),
        'application/json',
      );
      assertEnvelope(res, 400, 'VALIDATION_ERROR', 'UTF-8');
    }
    assert.deepEqual(await storeSnapshot(server), before);
    const good = await sendBytes(`${S}/${session.sessionId}/messages`, Buffer.from('{"content":"café"}'), 'application/json');
    assert.equal(good.status, 201, good.text);
    assert.equal(good.body.content, 'café');
  });
});

describe('NUL characters and ids that are no ids', () => {
  test('a NUL in any text of a body is 400 naming the field, nothing stored', async () => {
    const session = await createSession(server);
    const before = await storeSnapshot(server);
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/api/agents', { name: 'a\u0000b', provider: { type: 'eliza' } }, 'name'],
      ['POST', '/api/agents', { name: 'ok', system: '\u0000', provider: { type: 'eliza' } }, 'system'],
      ['POST', '/api/keys', { name: 'k\u0000', scopes: ['*'] }, 'name'],
      ['POST', S, { agentId: ELIZA, userId: USER, metadata: { note: 'x\u0000y' } }, 'metadata.note'],
      ['POST', S, { agentId: ELIZA, userId: USER, metadata: { 'k\u0000': 1 } }, 'metadata'],
      ['POST', `${S}/${session.sessionId}/messages`, { content: 'hi\u0000' }, 'content'],
      ['PATCH', `/api/agents/${ELIZA}`, { name: '\u0000' }, 'name'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await server.request(method, path, { body });
      assertEnvelope(res, 400, 'VALIDATION_ERROR', field);
      assert.match(res.body.error.details, /NUL/);
    }
    assert.deepEqual(await storeSnapshot(server), before);
  });

  test('a key id that is not a UUID is 404 NOT_FOUND, whatever it holds', async () => {
    const before = await storeSnapshot(server);
    for (const id of ['not-a-uuid', 'a%00b', '%00', 'A'.repeat(300), "1'%20OR%20'1'='1"]) {
      assertEnvelope(await server.request('DELETE', `/api/keys/${id}`), 404, 'NOT_FOUND');
    }
    assert.deepEqual(await storeSnapshot(server), before);
  });
});
