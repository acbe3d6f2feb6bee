import { sql, type Kysely } from 'kysely';

/**
 * Counters behind the list's `total` and `stats`, so that a page of the list costs the same with
 * a million sessions stored as with ten: per scope (`''` for every session, `agent:<id>` for one
 * agent's), how many sessions exist and how many have not had their expiry processed. They are
 * changed in the same transactions as the rows they count (create, expiry emission, delete,
 * purge); several shards per scope keep concurrent writers of PostgreSQL off one row, and a
 * reader adds them up. Back-filled here from the rows.
 *
 * The list's indexes carry `expires_at`, so that the status filter is answered from the index
 * while walking it newest first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('session_counts')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('sessions', 'bigint', (c) => c.notNull())
    .addColumn('unexpired', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_counts_pk', ['scope', 'shard'])
    .execute();
  await sql`insert into session_counts (scope, shard, sessions, unexpired)
    select '', 0, count(*), coalesce(sum(case when expiry_emitted = 0 then 1 else 0 end), 0) from sessions`.execute(db);
  await sql`insert into session_counts (scope, shard, sessions, unexpired)
    select 'agent:' || agent_id, 0, count(*), coalesce(sum(case when expiry_emitted = 0 then 1 else 0 end), 0)
    from sessions group by agent_id`.execute(db);

  // Newest first, with the expiry to filter by status without reading the row.
  await db.schema.dropIndex('sessions_created_at').execute();
  await db.schema.createIndex('sessions_created_at').on('sessions').columns(['created_at', 'id', 'expires_at']).execute();
  await db.schema.dropIndex('sessions_agent').execute();
  await db.schema.createIndex('sessions_agent').on('sessions').columns(['agent_id', 'created_at', 'id', 'expires_at']).execute();
  // One agent's expiry backlog and retention boundary (the counters' corrections).
  await db.schema.createIndex('sessions_agent_expiry').on('sessions').columns(['agent_id', 'expiry_emitted', 'expires_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_agent_expiry').execute();
  await db.schema.dropIndex('sessions_agent').execute();
  await db.schema.createIndex('sessions_agent').on('sessions').columns(['agent_id', 'created_at']).execute();
  await db.schema.dropIndex('sessions_created_at').execute();
  await db.schema.createIndex('sessions_created_at').on('sessions').columns(['created_at', 'id']).execute();
  await db.schema.dropTable('session_counts').execute();
}
