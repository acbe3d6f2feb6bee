import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { foldForSearch } from '../../domain/search.js';

/**
 * Full-text search over message content (SPEC §12). Every message keeps its content folded for
 * search (`search_text`: NFKC, lower case, computed by the server), and each database indexes
 * that text by trigrams, which finds any run of three or more characters in any script (also in
 * scripts written without spaces):
 * - SQLite: an FTS5 table with the trigram tokenizer over `messages.search_text` (external
 *   content, keyed by the messages' rowid), kept in step by triggers on insert and delete;
 * - PostgreSQL: a pg_trgm GIN index on `messages.search_text` (the extension is created here).
 * Existing messages are back-filled in batches.
 */
const BATCH = 1000;

export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema.alterTable('messages').addColumn('search_text', 'text').execute();
  await backfill(db, postgres);
  if (postgres) {
    await sql`create extension if not exists pg_trgm`.execute(db);
    await sql`create index messages_search on messages using gin (search_text gin_trgm_ops)`.execute(db);
    return;
  }
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

async function backfill(db: Kysely<unknown>, postgres: boolean): Promise<void> {
  for (;;) {
    const { rows } = await sql<{ id: string; content: string }>`
      select id, content from messages where search_text is null limit ${BATCH}`.execute(db);
    if (rows.length === 0) return;
    if (postgres) {
      const values = sql.join(rows.map((r) => sql`(${r.id}, ${foldForSearch(r.content)})`));
      await sql`update messages set search_text = v.t from (values ${values}) as v(id, t) where messages.id = v.id`.execute(db);
    } else {
      for (const r of rows) await sql`update messages set search_text = ${foldForSearch(r.content)} where id = ${r.id}`.execute(db);
    }
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  if (postgres) {
    await sql`drop index messages_search`.execute(db);
  } else {
    await sql`drop trigger messages_fts_delete`.execute(db);
    await sql`drop trigger messages_fts_insert`.execute(db);
    await sql`drop table messages_fts`.execute(db);
  }
  await db.schema.alterTable('messages').dropColumn('search_text').execute();
}
