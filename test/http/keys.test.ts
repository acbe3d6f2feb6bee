/**
 * /api/keys: create (the secret in that answer only), list (never the secret), revoke; and
 * what the database keeps: digests, never a key or a session token, checked in the bytes of
 * the SQLite files themselves.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { call } from '../support/auth.js';
import { ADMIN_KEY, ELIZA, USER, startServer, type TestServer } from '../support/server.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const post = (body: unknown, token = ADMIN_KEY) => call(server, 'POST', '/api/keys', { token, body });

describe('POST /api/keys', () => {
  test('201 with exactly the documented fields; the key is shown here', async () => {
    const res = await post({ name: 'ci', scopes: ['sessions:read', 'sessions:write'] });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['createdAt', 'expiresAt', 'id', 'key', 'name', 'scopes']);
    assert.match(res.body.id, UUID);
    assert.equal(res.body.name, 'ci');
    assert.deepEqual(res.body.scopes, ['sessions:read', 'sessions:write']);
    assert.equal(res.body.createdAt, new Date(server.clock.now()).toISOString());
    assert.equal(res.body.expiresAt, null);
    assert.match(res.body.key, /^ask_[A-Za-z0-9_-]{43}$/);
  });

  test('an expiry is kept to the millisecond', async () => {
    const expiresAt = new Date(server.clock.now() + 90 * MINUTE + 123).toISOString();
    const res = await post({ name: 'temp', scopes: ['*'], expiresAt });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.expiresAt, expiresAt);
    assert.equal((await post({ name: 'never', scopes: ['*'], expiresAt: null })).body.expiresAt, null);
  });

  test('invalid bodies are 400 VALIDATION_ERROR naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ scopes: ['*'] }, 'name'],
      [{ name: '', scopes: ['*'] }, 'name'],
      [{ name: 'x'.repeat(101), scopes: ['*'] }, 'name'],
      [{ name: 'x' }, 'scopes'],
      [{ name: 'x', scopes: [] }, 'scopes'],
      [{ name: 'x', scopes: ['sessions:admin'] }, 'scopes'],
      [{ name: 'x', scopes: ['*', '*'] }, 'scopes'],
      [{ name: 'x', scopes: ['*'], expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ name: 'x', scopes: ['*'], expiresAt: new Date(server.clock.now() - 1).toISOString() }, 'expiresAt'],
      [{ name: 'x', scopes: ['*'], key: 'ask_chosen' }, 'key'],
      [{ name: '   ', scopes: ['*'] }, 'name'],
    ];
    for (const [body, field] of cases) {
      const res = await post(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
      assert.match(res.body.error.details, new RegExp(field), JSON.stringify(body));
    }
  });

  test('the new key works at once, with its scopes and no others', async () => {
    const { key } = (await post({ name: 'reader', scopes: ['sessions:read'] })).body;
    assert.equal((await call(server, 'GET', '/api/messaging/sessions', { token: key })).status, 200);
    assert.equal((await call(server, 'GET', '/api/messaging/sessions', { token: key, place: 'x-api-key' })).status, 200);
    const create = await call(server, 'POST', '/api/messaging/sessions', { token: key, body: { agentId: ELIZA, userId: USER } });
    assert.equal(create.status, 403);
  });
});

describe('GET /api/keys', () => {
  test('lists every key with its prefix and last use, never a secret', async () => {
    const created = (await post({ name: 'listed', scopes: ['metrics:read'] })).body;
    const res = await call(server, 'GET', '/api/keys', { token: ADMIN_KEY });
    assert.equal(res.status, 200);
    const entry = res.body.keys.find((k: { id: string }) => k.id === created.id);
    assert.deepEqual(entry, {
      id: created.id,
      name: 'listed',
      scopes: ['metrics:read'],
      prefix: created.key.slice(0, 12),
      createdAt: created.createdAt,
      expiresAt: null,
      lastUsedAt: null,
    });
    assert.ok(!res.text.includes(created.key), 'the list must not contain a secret');
    assert.ok(!res.text.includes(created.key.slice(12)), 'nor the part of it after the prefix');
    for (const k of res.body.keys) {
      assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'scopes']);
      assert.match(k.createdAt, ISO);
    }
  });

  test('lastUsedAt follows use (written at most once a minute per key)', async () => {
    const created = (await post({ name: 'used', scopes: ['sessions:read'] })).body;
    const lastUsed = async () =>
      (await call(server, 'GET', '/api/keys', { token: ADMIN_KEY })).body.keys.find((k: { id: string }) => k.id === created.id).lastUsedAt;
    const first = server.clock.advance(1000);
    await call(server, 'GET', '/api/messaging/sessions', { token: created.key });
    assert.equal(await lastUsed(), new Date(first).toISOString());
    server.clock.advance(30_000);
    await call(server, 'GET', '/api/messaging/sessions', { token: created.key });
    assert.equal(await lastUsed(), new Date(first).toISOString());
    const later = server.clock.advance(30_000);
    await call(server, 'GET', '/api/messaging/sessions', { token: created.key });
    assert.equal(await lastUsed(), new Date(later).toISOString());
  });

  test('the configured SESSIONS_API_KEY is not a stored key', async () => {
    const res = await call(server, 'GET', '/api/keys', { token: ADMIN_KEY });
    assert.ok(!res.text.includes(ADMIN_KEY.slice(0, 12)));
    assert.ok(res.body.keys.every((k: { name: string }) => k.name !== 'admin'));
  });
});

describe('DELETE /api/keys/:id', () => {
  test('revokes: {success:true}, the key stops working, gone from the list; again is 404 NOT_FOUND', async () => {
    const created = (await post({ name: 'doomed', scopes: ['sessions:read'] })).body;
    const res = await call(server, 'DELETE', `/api/keys/${created.id}`, { token: ADMIN_KEY });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { success: true });
    assert.equal((await call(server, 'GET', '/api/messaging/sessions', { token: created.key })).status, 401);
    const list = (await call(server, 'GET', '/api/keys', { token: ADMIN_KEY })).body.keys;
    assert.ok(list.every((k: { id: string }) => k.id !== created.id));
    const again = await call(server, 'DELETE', `/api/keys/${created.id}`, { token: ADMIN_KEY });
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'NOT_FOUND');
    const unknown = await call(server, 'DELETE', '/api/keys/not-a-key', { token: ADMIN_KEY });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'NOT_FOUND');
  });

  test('a key hands out only scopes it holds: 403 FORBIDDEN naming the others, nothing created', async () => {
    const manager = (await post({ name: 'manager', scopes: ['keys:manage', 'sessions:read'] })).body;
    const before = (await call(server, 'GET', '/api/keys', { token: ADMIN_KEY })).body.keys.length;
    const refused = await post({ name: 'wider', scopes: ['sessions:read', '*'] }, manager.key);
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.body.error.code, 'FORBIDDEN');
    assert.match(refused.body.error.message, /scopes it does not hold: \*$/);
    assert.equal((await call(server, 'GET', '/api/keys', { token: ADMIN_KEY })).body.keys.length, before);
    assert.equal((await post({ name: 'narrower', scopes: ['sessions:read'] }, manager.key)).status, 201);
  });

  test('a key that expires creates only keys that expire no later: 403 FORBIDDEN otherwise', async () => {
    const until = server.clock.now() + 60 * MINUTE;
    const iso = (ms: number) => new Date(ms).toISOString();
    const manager = (await post({ name: 'temporary', scopes: ['keys:manage'], expiresAt: iso(until) })).body;
    for (const expiresAt of [undefined, null, iso(until + 1)]) {
      const refused = await post(
        { name: 'longer', scopes: ['keys:manage'], ...(expiresAt === undefined ? {} : { expiresAt }) },
        manager.key,
      );
      assert.equal(refused.status, 403, `${expiresAt}: ${refused.text}`);
      assert.match(refused.body.error.message, new RegExp(`outlives it: expiresAt must be at most ${iso(until).replace(/\./g, '\\.')}$`));
    }
    const same = await post({ name: 'as long', scopes: ['keys:manage'], expiresAt: iso(until) }, manager.key);
    assert.equal(same.status, 201, same.text);
    assert.equal(same.body.expiresAt, iso(until));
    // The configured key never expires, so it may create keys that never do.
    assert.equal((await post({ name: 'forever', scopes: ['keys:manage'] })).body.expiresAt, null);
  });

  test('a key can revoke itself; its next request is 401', async () => {
    const created = (await post({ name: 'self', scopes: ['keys:manage'] })).body;
    assert.equal((await call(server, 'DELETE', `/api/keys/${created.id}`, { token: created.key })).status, 200);
    assert.equal((await call(server, 'GET', '/api/keys', { token: created.key })).status, 401);
  });
});

describe('what the database keeps', { skip: process.env.TEST_STORE === 'postgres' ? 'reads the SQLite files' : undefined }, () => {
  test('digests only: no key and no session token appears anywhere in the SQLite files', async () => {
    const own = await startServer();
    try {
      const keys: string[] = [];
      for (let i = 0; i < 3; i++)
        keys.push((await call(own, 'POST', '/api/keys', { token: ADMIN_KEY, body: { name: `k${i}`, scopes: ['*'] } })).body.key);
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) {
        const created = await call(own, 'POST', '/api/messaging/sessions', { token: ADMIN_KEY, body: { agentId: ELIZA, userId: USER } });
        tokens.push(created.body.sessionToken);
        // Use every credential, so that nothing about a use is written in clear either.
        await call(own, 'POST', `/api/messaging/sessions/${created.body.sessionId}/heartbeat`, { token: created.body.sessionToken });
      }
      for (const key of keys) await call(own, 'GET', '/api/keys', { token: key });

      const digest = (s: string) => createHash('sha256').update(s).digest('hex');
      const check = (when: string) => {
        const bytes = Buffer.concat(readdirSync(own.dir).map((f) => readFileSync(join(own.dir, f))));
        for (const secret of [...keys, ...tokens, ADMIN_KEY]) {
          assert.equal(bytes.indexOf(secret), -1, `${when}: a secret is stored in clear`);
          // Nor in any other common encoding of its bytes.
          assert.equal(bytes.indexOf(Buffer.from(secret).toString('base64')), -1, `${when}: base64 of a secret is stored`);
          assert.equal(bytes.indexOf(Buffer.from(secret).toString('hex')), -1, `${when}: hex of a secret is stored`);
        }
        return bytes;
      };
      check('while running');
      await own.close({ keepData: true });
      const bytes = check('after close');
      // What is stored instead: the digests (proof that the check above looked at the right data).
      for (const secret of [...keys, ...tokens]) assert.notEqual(bytes.indexOf(digest(secret)), -1, 'the digest is stored');
    } finally {
      await own.close().catch(() => {});
    }
  });
});
