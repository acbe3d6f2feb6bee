import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * Messages by time (PostgreSQL), for search to look among the newest messages first
 * (store/postgres/search.ts). SQLite's search index is keyed by time already (migration 008).
 * - `messages_time` (B-tree): where the newest 20,000 messages start, read once a second.
 * - `messages_time_range` (BRIN, a few pages for millions of rows, nearly free to keep up): the
 *   range PostgreSQL ANDs with the trigram index's matches. The planner believes a trigram
 *   match rare (it estimates 100 rows for a word in 2,400), so against the B-tree's range of
 *   20,000 entries it reads every match instead; against a BRIN range, which costs it almost
 *   nothing, it ANDs (measured: 20 ms against 4.5 ms of PostgreSQL CPU a query). Rows are
 *   appended in time order, which is what BRIN needs; `autosummarize` summarizes each block
 *   range as it fills (ranges not summarized yet are always read, and they are the newest).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await db.schema.createIndex('messages_time').on('messages').column('created_at').execute();
  await sql`create index messages_time_range on messages using brin (created_at) with (autosummarize = on)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await db.schema.dropIndex('messages_time_range').execute();
  await db.schema.dropIndex('messages_time').execute();
}
