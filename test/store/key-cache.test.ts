/**
 * The in-process cache of API keys: a key revoked through this store is refused at once; one
 * revoked by another process on the same SQLite file at once too (data_version); one revoked by
 * another PostgreSQL instance within the cache's maximum age (500 ms), measured on an injected
 * monotonic clock.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { hashSecret } from '../../src/auth/credentials.js';
import { ApiKeyCache } from '../../src/store/key-cache.js';
import { KEY_CACHE_MAX_AGE_MS, openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { ApiKeyRecord } from '../../src/store/store.js';
import { T0 } from './fixtures.js';

function makeKey(): ApiKeyRecord {
  const secret = `ask_${randomUUID()}`;
  return {
    id: randomUUID(),
    name: 'ci',
    scopes: ['sessions:read'],
    keyHash: hashSecret(secret),
    prefix: secret.slice(0, 12),
    createdAt: T0,
    expiresAt: null,
    lastUsedAt: null,
  };
}

describe('ApiKeyCache', () => {
  test('keeps what was read; a write empties it; a read that raced a write is not kept', () => {
    const cache = new ApiKeyCache();
    const key = makeKey();
    cache.fill(cache.ticket(), key);
    assert.deepEqual(cache.get(key.keyHash), key);
    assert.ok(Object.isFrozen(cache.get(key.keyHash)));
    cache.invalidate();
    assert.equal(cache.get(key.keyHash), undefined);
    const ticket = cache.ticket();
    cache.invalidate();
    cache.fill(ticket, key);
    assert.equal(cache.get(key.keyHash), undefined);
  });

  test('an entry is used for less than maxAgeMs', () => {
    let now = 1000;
    const cache = new ApiKeyCache({ maxAgeMs: 500, now: () => now });
    const key = makeKey();
    cache.fill(cache.ticket(), key);
    now += 499;
    assert.deepEqual(cache.get(key.keyHash), key);
    now += 1;
    assert.equal(cache.get(key.keyHash), undefined);
  });

  test('a commit elsewhere empties it', () => {
    let changed = false;
    const cache = new ApiKeyCache({ changedElsewhere: () => changed });
    const key = makeKey();
    cache.fill(cache.ticket(), key);
    assert.deepEqual(cache.get(key.keyHash), key);
    changed = true;
    assert.equal(cache.get(key.keyHash), undefined);
  });
});

test('SQLite: a key revoked through another connection to the file is refused at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-keys-'));
  const a = openSqliteStore(join(dir, 'keys.db'));
  const b = openSqliteStore(join(dir, 'keys.db'));
  try {
    await a.migrate();
    const key = makeKey();
    await b.insertApiKey(key);
    assert.deepEqual(await a.getApiKeyByHash(key.keyHash), key);
    assert.deepEqual(await a.getApiKeyByHash(key.keyHash), key, 'from the cache');
    assert.equal(await b.deleteApiKey(key.id), true);
    // Another process's commit reaches this one's requests through I/O, so in a later turn of
    // the event loop; within one run of JavaScript the store asks SQLite once (src/store/sqlite.ts).
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await a.getApiKeyByHash(key.keyHash), undefined);

    const own = makeKey();
    await a.insertApiKey(own);
    assert.deepEqual(await a.getApiKeyByHash(own.keyHash), own);
    assert.equal(await a.deleteApiKey(own.id), true);
    assert.equal(await a.getApiKeyByHash(own.keyHash), undefined, 'revoked through this store: at once');
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('PostgreSQL: two instances', { skip: process.env.TEST_POSTGRES === '0' ? 'PostgreSQL not reachable' : undefined }, () => {
  test(`a key revoked on one instance is refused on the other within ${KEY_CACHE_MAX_AGE_MS} ms, at once on its own`, async () => {
    const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `agent_sessions_test_${randomBytes(6).toString('hex')}`;
    const admin = async (text: string) => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    };
    await admin(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    let now = 0;
    const a = openPostgresStore(url.toString(), 2, new ApiKeyCache({ maxAgeMs: KEY_CACHE_MAX_AGE_MS, now: () => now }));
    const b = openPostgresStore(url.toString(), 2);
    try {
      await a.migrate();
      const key = makeKey();
      await b.insertApiKey(key);
      assert.deepEqual(await a.getApiKeyByHash(key.keyHash), key);
      assert.equal(await b.deleteApiKey(key.id), true);
      now += KEY_CACHE_MAX_AGE_MS - 1;
      assert.deepEqual(await a.getApiKeyByHash(key.keyHash), key, 'still in the cache');
      now += 1;
      assert.equal(await a.getApiKeyByHash(key.keyHash), undefined);

      const own = makeKey();
      await a.insertApiKey(own);
      assert.deepEqual(await a.getApiKeyByHash(own.keyHash), own);
      assert.equal(await a.deleteApiKey(own.id), true);
      assert.equal(await a.getApiKeyByHash(own.keyHash), undefined);
    } finally {
      await a.close();
      await b.close();
      await admin(`DROP DATABASE IF EXISTS ${name}`);
    }
  });
});
