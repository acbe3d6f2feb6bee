import { PostgresAdapter, type Kysely } from 'kysely';

/**
 * An index of messages by time (PostgreSQL), for search to look among the newest messages first
 * (store/postgres/search.ts): it finds where the newest 20,000 start, and PostgreSQL ANDs its
 * range with the trigram index's matches, so that only the recent matches are read. SQLite's
 * search index is keyed by time already (migration 008).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await db.schema.createIndex('messages_time').on('messages').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await db.schema.dropIndex('messages_time').execute();
}
