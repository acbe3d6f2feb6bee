/**
 * The search query of each dialect (migration 006 builds their indexes). Both return messages
 * whose folded text contains every word, newest first by (created_at, id), from sessions not
 * past retention, after the cursor's position when given.
 * - SQLite: the FTS5 trigram table finds the rows holding the words of three or more characters
 *   (each word a phrase; all must match); shorter words are checked with instr() on those rows.
 * - PostgreSQL: one LIKE per word on `search_text`, which pg_trgm's GIN index answers for words of
 *   three or more characters.
 * A query whose words are all shorter than three characters has nothing for a trigram index to
 * find, so it reads every message in scope (fast with `sessionId`, slow over everything).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { INDEXED_WORD_MIN } from '../domain/search.js';
import type { Database } from './schema.js';
import type { MessageSearchQuery } from './store.js';

export interface SearchRow {
  id: string;
  session_id: string;
  content: string;
  author_id: string;
  is_agent: number;
  created_at: number;
  metadata: string;
  attachments: string;
  in_reply_to: string | null;
}

const indexed = (word: string) => [...word].length >= INDEXED_WORD_MIN;

export async function searchMessageRows(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', q: MessageSearchQuery): Promise<SearchRow[]> {
  const conditions: RawBuilder<unknown>[] = [sql`s.expires_at > ${q.now - q.retentionMs}`];
  if (q.agentId) conditions.push(sql`s.agent_id = ${q.agentId}`);
  if (q.userId) conditions.push(sql`s.user_id = ${q.userId}`);
  if (q.sessionId) conditions.push(sql`m.session_id = ${q.sessionId}`);
  if (q.after) {
    conditions.push(sql`(m.created_at, m.id) < (${q.after.createdAt}, ${q.after.id})`);
  }
  const long = q.words.filter(indexed);
  let from: RawBuilder<unknown>;
  if (dialect === 'sqlite') {
    const short = q.words.filter((w) => !indexed(w));
    for (const w of short) conditions.push(sql`instr(m.search_text, ${w}) > 0`);
    if (long.length > 0) {
      // Words hold only letters, digits and marks: nothing to escape inside a phrase.
      const match = long.map((w) => `"${w}"`).join(' AND ');
      from = sql`messages_fts f join messages m on m.rowid = f.rowid`;
      conditions.unshift(sql`messages_fts match ${match}`);
    } else {
      from = sql`messages m`;
    }
  } else {
    from = sql`messages m`;
    // Words hold only letters, digits and marks: no LIKE wildcard or escape to neutralise.
    for (const w of q.words) conditions.push(sql`m.search_text like ${`%${w}%`}`);
  }
  const { rows } = await sql<SearchRow>`
    select m.id, m.session_id, m.content, m.author_id, m.is_agent, m.created_at, m.metadata, m.attachments, m.in_reply_to
    from ${from} join sessions s on s.id = m.session_id
    where ${sql.join(conditions, sql` and `)}
    order by m.created_at desc, m.id desc
    limit ${q.limit}`.execute(db);
  return rows;
}
