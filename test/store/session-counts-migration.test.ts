/**
 * Migration 003 back-fills the list's counters from the sessions already stored, so that a
 * store upgraded with data in it reports the same stats as one that counted from the start.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { MIN, T0 } from './fixtures.js';

/** The tables as the old migrations left them, written and read row by row without a schema type. */
type OldTables = Record<string, Record<string, unknown>>;

test('003 back-fills the session counters from the rows stored before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-counts-'));
  const file = join(dir, 'old.db');
  try {
    const old = new Kysely<OldTables>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
    const { error } = await new Migrator({ db: old, provider: migrationProvider }).migrateTo('002-auth');
    assert.equal(error, undefined);
    const agentA = randomUUID();
    const agentB = randomUUID();
    const row = (agentId: string, expiresAt: number, emitted: 0 | 1) => ({
      id: randomUUID(),
      channel_id: randomUUID(),
      agent_id: agentId,
      user_id: randomUUID(),
      metadata: '{}',
      timeout_minutes: 30,
      auto_renew: 1,
      max_duration_minutes: 720,
      warning_threshold_minutes: 5,
      created_at: T0,
      last_activity: T0,
      last_renewal: T0,
      expires_at: expiresAt,
      renewal_count: 0,
      last_message_at: null,
      warning_at: expiresAt - 5 * MIN,
      expiry_emitted: emitted,
    });
    await old
      .insertInto('sessions')
      .values([row(agentA, T0 + 30 * MIN, 0), row(agentA, T0 + 5 * MIN, 1), row(agentB, T0 + 30 * MIN, 0)])
      .execute();
    await old.destroy();

    const store = openSqliteStore(file);
    try {
      // Every migration after the two the old file had, 003 first.
      const later = Object.keys(await migrationProvider.getMigrations())
        .sort()
        .filter((name) => name > '002-auth');
      assert.equal(later[0], '003-session-counts');
      assert.deepEqual(await store.migrate(), later);
      const stats = async (agentId?: string) =>
        (await store.listSessions({ status: 'all', limit: 50, offset: 0, now: T0 + 10 * MIN, retentionMs: 60 * MIN, agentId })).stats;
      assert.deepEqual(await stats(), { totalSessions: 3, activeSessions: 2, expiredSessions: 1 });
      assert.deepEqual(await stats(agentA), { totalSessions: 2, activeSessions: 1, expiredSessions: 1 });
      assert.deepEqual(await stats(agentB), { totalSessions: 1, activeSessions: 1, expiredSessions: 0 });
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
