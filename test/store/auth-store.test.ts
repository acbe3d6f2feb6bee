/**
 * The store's part of authentication, on SQLite and PostgreSQL: API keys by digest, the
 * first-key guard under a race, and session tokens that live and die with their session.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '../../src/auth/credentials.js';
import { FIRST_KEY_ID } from '../../src/auth/keys.js';
import type { ApiKeyRecord, Store } from '../../src/store/store.js';
import { backends } from './backends.js';
import { makeSession, MIN, T0, YEAR_2100 } from './fixtures.js';

function makeKey(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const secret = `ask_${randomUUID()}`;
  return {
    id: randomUUID(),
    name: 'ci',
    scopes: ['sessions:read', 'sessions:write'],
    keyHash: hashSecret(secret),
    prefix: secret.slice(0, 12),
    createdAt: T0,
    expiresAt: null,
    lastUsedAt: null,
    ...overrides,
  };
}

for (const backend of backends()) {
  describe(`auth store: ${backend.name}`, { skip: backend.skip }, () => {
    let store: Store;
    before(async () => {
      ({ store } = await backend.open());
    });
    after(() => backend.cleanup());

    test('the auth migration is applied', async () => {
      const { migrated } = await backend.open();
      assert.ok(migrated.includes('002-auth'), migrated.join(', '));
    });

    test('an API key is found by its digest, with every field as stored', async () => {
      const key = makeKey({ expiresAt: YEAR_2100, scopes: ['*'] });
      await store.insertApiKey(key);
      assert.deepEqual(await store.getApiKeyByHash(key.keyHash), key);
      assert.equal(await store.getApiKeyByHash(hashSecret('something else')), undefined);
      assert.equal(await store.getApiKeyByHash(key.prefix), undefined);
    });

    test('an API key is found by its id (to check it again), until it is revoked', async () => {
      const key = makeKey();
      await store.insertApiKey(key);
      assert.deepEqual(await store.getApiKey(key.id), key);
      assert.equal(await store.getApiKey(randomUUID()), undefined);
      assert.equal(await store.deleteApiKey(key.id), true);
      assert.equal(await store.getApiKey(key.id), undefined);
    });

    test('two keys cannot share a digest', async () => {
      const key = makeKey();
      await store.insertApiKey(key);
      await assert.rejects(store.insertApiKey(makeKey({ keyHash: key.keyHash })));
    });

    test('touch records the last use; delete revokes, once', async () => {
      const key = makeKey();
      await store.insertApiKey(key);
      await store.touchApiKey(key.id, YEAR_2100);
      assert.equal((await store.getApiKeyByHash(key.keyHash))?.lastUsedAt, YEAR_2100);
      assert.equal(await store.deleteApiKey(key.id), true);
      assert.equal(await store.getApiKeyByHash(key.keyHash), undefined);
      assert.equal(await store.deleteApiKey(key.id), false);
    });

    test('the list is oldest first', async () => {
      const { store: own } = await backend.open();
      const b = makeKey({ createdAt: T0 + 2 });
      const a = makeKey({ createdAt: T0 + 1 });
      await own.insertApiKey(b);
      await own.insertApiKey(a);
      assert.deepEqual(
        (await own.listApiKeys()).map((k) => k.id),
        [a.id, b.id],
      );
    });

    test('the first key goes in only while no key exists, and only once under a race', async () => {
      const { store: own } = await backend.open();
      const results = await Promise.all(Array.from({ length: 4 }, () => own.insertFirstApiKey(makeKey({ id: FIRST_KEY_ID }))));
      assert.equal(results.filter(Boolean).length, 1, JSON.stringify(results));
      assert.equal((await own.listApiKeys()).length, 1);

      const { store: other } = await backend.open();
      await other.insertApiKey(makeKey());
      assert.equal(await other.insertFirstApiKey(makeKey({ id: FIRST_KEY_ID })), false);
      assert.equal((await other.listApiKeys()).length, 1);
    });

    test('a session token digest finds its session; sessions without one coexist', async () => {
      const session = makeSession();
      const digest = hashSecret(`ast_${randomUUID()}`);
      await store.insertSession(session, digest);
      await store.insertSession(makeSession());
      await store.insertSession(makeSession());
      assert.deepEqual(await store.getSessionByTokenHash(digest), session);
      assert.equal(await store.getSessionByTokenHash(hashSecret('nope')), undefined);
    });

    test('the token dies with its session: deleted or purged', async () => {
      const deleted = makeSession();
      const deletedDigest = hashSecret(`ast_${randomUUID()}`);
      await store.insertSession(deleted, deletedDigest);
      await store.deleteSession(deleted.id);
      assert.equal(await store.getSessionByTokenHash(deletedDigest), undefined);

      const { store: own } = await backend.open();
      const purged = makeSession({ expiresAt: T0 + MIN });
      const purgedDigest = hashSecret(`ast_${randomUUID()}`);
      await own.insertSession(purged, purgedDigest);
      assert.equal(await own.purgeExpired(T0 + 2 * MIN, 100), 1);
      assert.equal(await own.getSessionByTokenHash(purgedDigest), undefined);
    });

    test('updating a session keeps its token', async () => {
      const session = makeSession();
      const digest = hashSecret(`ast_${randomUUID()}`);
      await store.insertSession(session, digest);
      const renewed = { ...session, lastActivity: T0 + MIN, lastRenewal: T0 + MIN, expiresAt: T0 + 31 * MIN, renewalCount: 1 };
      await store.saveSession(renewed, []);
      assert.deepEqual(await store.getSessionByTokenHash(digest), renewed);
    });
  });
}
