import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * Search that stops at the newest matches (SQLite). Migration 006's FTS5 table was keyed by the
 * messages' rowid, which follows insertion, not time: to return the newest 20 of thousands of
 * matches, every match had to be read and sorted. Here the index is rebuilt keyed by time:
 *
 *   rowid = created_at · 2^20 + (message rowid mod 2^20)
 *
 * so FTS5, which walks a query's matches in rowid order, yields them newest first
 * (`order by rowid desc limit n` stops after n), and a cursor is a rowid bound. The low 20 bits
 * only make keys unique: two messages of the same millisecond whose rowids differ by a multiple
 * of 2^20 would collide, which takes a million messages stored within one millisecond. Messages
 * of one millisecond come out in rowid order, not id order; the query fixes that up
 * (store/search.ts). The table is contentless (the text is in `messages.search_text`) and keeps
 * the message's rowid as an unindexed column, to find the message from a match.
 */
export const SEARCH_KEY_SHIFT = 20;

export async function up(db: Kysely<unknown>): Promise<void> {
  // PostgreSQL: nothing (the GIN index of 006 stays; store/search.ts says why).
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  await sql`drop trigger messages_fts_delete`.execute(db);
  await sql`drop trigger messages_fts_insert`.execute(db);
  await sql`drop table messages_fts`.execute(db);
  await sql`create virtual table messages_search using fts5(
    search_text, message_rowid unindexed,
    content='', contentless_delete=1, contentless_unindexed=1, tokenize='trigram case_sensitive 1')`.execute(db);
  await sql`insert into messages_search (rowid, search_text, message_rowid)
    select (created_at << ${sql.lit(SEARCH_KEY_SHIFT)}) + (rowid & ${sql.lit(2 ** SEARCH_KEY_SHIFT - 1)}), search_text, rowid
    from messages where search_text is not null`.execute(db);
  await sql`create trigger messages_search_insert after insert on messages begin
    insert into messages_search (rowid, search_text, message_rowid)
    values ((new.created_at << ${sql.lit(SEARCH_KEY_SHIFT)}) + (new.rowid & ${sql.lit(2 ** SEARCH_KEY_SHIFT - 1)}), new.search_text, new.rowid);
  end`.execute(db);
  await sql`create trigger messages_search_delete after delete on messages begin
    delete from messages_search where rowid = (old.created_at << ${sql.lit(SEARCH_KEY_SHIFT)}) + (old.rowid & ${sql.lit(2 ** SEARCH_KEY_SHIFT - 1)});
  end`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  await sql`drop trigger messages_search_delete`.execute(db);
  await sql`drop trigger messages_search_insert`.execute(db);
  await sql`drop table messages_search`.execute(db);
  await sql`create virtual table messages_fts using fts5(
    search_text, content='messages', content_rowid='rowid', tokenize='trigram case_sensitive 1')`.execute(db);
  await sql`insert into messages_fts (messages_fts) values ('rebuild')`.execute(db);
  await sql`create trigger messages_fts_insert after insert on messages begin
    insert into messages_fts (rowid, search_text) values (new.rowid, new.search_text);
  end`.execute(db);
  await sql`create trigger messages_fts_delete after delete on messages begin
    insert into messages_fts (messages_fts, rowid, search_text) values ('delete', old.rowid, old.search_text);
  end`.execute(db);
}
