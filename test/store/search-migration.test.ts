/**
 * Migration 006 folds and indexes the messages stored before it, on both stores: a store
 * upgraded with messages in it finds them as one that indexed them from the start.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';
import { MIN, T0 } from './fixtures.js';

const CONTENTS = ['Ünïcode CAFÉ crème', 'ПРИВЕТ мир', '東京に行きました', 'plain words here'];

/** The tables as the old migrations left them, written and read row by row without a schema type. */
type OldTables = Record<string, Record<string, unknown>>;

/** Migrates `db` up to 003, stores a session with messages the old way; returns the session id. */
async function seedBefore006(db: Kysely<OldTables>): Promise<string> {
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('003-session-counts');
  assert.equal(error, undefined);
  const sessionId = randomUUID();
  await db
    .insertInto('sessions')
    .values({
      id: sessionId,
      channel_id: randomUUID(),
      agent_id: randomUUID(),
      user_id: randomUUID(),
      metadata: '{}',
      timeout_minutes: 30,
      auto_renew: 1,
      max_duration_minutes: 720,
      warning_threshold_minutes: 5,
      created_at: T0,
      last_activity: T0,
      last_renewal: T0,
      expires_at: T0 + 30 * MIN,
      renewal_count: 0,
      last_message_at: null,
      warning_at: T0 + 25 * MIN,
    })
    .execute();
  await db
    .insertInto('messages')
    .values(
      CONTENTS.map((content, i) => ({
        id: randomUUID(),
        session_id: sessionId,
        content,
        author_id: randomUUID(),
        is_agent: 0,
        created_at: T0 + i,
        metadata: '{}',
        attachments: '[]',
        in_reply_to: null,
      })),
    )
    .execute();
  return sessionId;
}

async function assertFound(store: Store, sessionId: string): Promise<void> {
  const search = async (...words: string[]) =>
    (await store.searchMessages({ words, limit: 10, now: T0, retentionMs: 60 * MIN })).map((m) => m.content);
  assert.deepEqual(await search('café', 'crème'), [CONTENTS[0]]);
  assert.deepEqual(await search('привет'), [CONTENTS[1]]);
  assert.deepEqual(await search('東京'), [CONTENTS[2]]);
  assert.deepEqual(await search('words'), [CONTENTS[3]]);
  assert.equal((await store.searchMessages({ words: ['e'], sessionId, limit: 10, now: T0, retentionMs: 60 * MIN })).length, 2);
}

test('006 on SQLite: the messages stored before it are found', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-search-'));
  const file = join(dir, 'old.db');
  try {
    const old = new Kysely<OldTables>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
    const sessionId = await seedBefore006(old);
    await old.destroy();
    const store = openSqliteStore(file);
    try {
      assert.ok((await store.migrate()).includes('006-search'));
      await assertFound(store, sessionId);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  '006 on PostgreSQL: the messages stored before it are found',
  { skip: process.env.TEST_POSTGRES === '0' ? 'PostgreSQL not reachable' : undefined },
  async () => {
    const url = await createTestDatabase();
    try {
      const old = new Kysely<OldTables>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
      const sessionId = await seedBefore006(old);
      await old.destroy();
      const store = openPostgresStore(url, 2);
      try {
        assert.ok((await store.migrate()).includes('006-search'));
        await assertFound(store, sessionId);
      } finally {
        await store.close();
      }
    } finally {
      await dropTestDatabase(url);
    }
  },
);
