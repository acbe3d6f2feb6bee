/**
 * The search query of each dialect (migrations 006 and 008 build their indexes). Both return
 * messages whose folded text contains every word, newest first by (created_at, id), from
 * sessions not past retention, after the cursor's position when given:
 * - SQLite: the FTS5 trigram table `messages_search` is keyed by time (migration 008), so it
 *   walks the candidates (rows holding the first and last trigram of each word of three or more characters)
 *   newest first and stops after `limit` rows that hold every word (instr()), instead of reading
 *   and sorting every match. Messages of the same millisecond come out of the index in rowid order: the
 *   last millisecond of a page is read whole and sorted by id.
 * - PostgreSQL: one LIKE per word on `search_text`, which pg_trgm's GIN index answers for words of
 *   three or more characters, the newest messages first (postgres/search.ts).
 * A query whose words are all shorter than three characters has nothing for a trigram index to
 * find, so it reads every message in scope (fast with `sessionId`, slow over everything).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { INDEXED_WORD_MIN } from '../domain/search.js';
import { SEARCH_KEY_SHIFT } from './migrations/008-search-order.js';
import type { Database } from './schema.js';
import { SEARCH_COLUMNS, type SearchRow } from './sql/rows.js';
import type { MessageSearchQuery } from './store.js';

const indexed = (word: string) => [...word].length >= INDEXED_WORD_MIN;

/**
 * The trigrams a word's candidates must hold: its first and last. Every trigram probed costs a
 * read of its list in each of the index's segments, so fewer probes are faster as long as the
 * candidates stay few: measured at 1,000,000 messages (docs/benchmarks.md), a two-word query
 * took 2.2 ms with three probes a word, 1.5 ms with two, 1.3 ms with one (but 4.7 ms at p99,
 * when one trigram is common); all of a word's trigrams, 3.4 ms. instr() then checks the word.
 */
function probes(word: string): string[] {
  const chars = [...word];
  return [chars.slice(0, 3).join(''), chars.slice(-3).join('')];
}

/** Newest first by (created_at, id). */
const newestFirst = (a: SearchRow, b: SearchRow) => Number(b.created_at) - Number(a.created_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The conditions on the session (scope, retention) and the cursor. */
function scopeConditions(q: MessageSearchQuery): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [sql`s.expires_at > ${q.now - q.retentionMs}`];
  if (q.agentId) conditions.push(sql`s.agent_id = ${q.agentId}`);
  if (q.userId) conditions.push(sql`s.user_id = ${q.userId}`);
  if (q.sessionId) conditions.push(sql`m.session_id = ${q.sessionId}`);
  if (q.after) conditions.push(sql`(m.created_at, m.id) < (${q.after.createdAt}, ${q.after.id})`);
  return conditions;
}

export async function sqliteSearch(db: Kysely<Database>, q: MessageSearchQuery): Promise<SearchRow[]> {
  const conditions = scopeConditions(q);
  // Every word is checked on the row itself: the index only narrows the candidates.
  for (const w of q.words) conditions.push(sql`instr(m.search_text, ${w}) > 0`);
  const long = q.words.filter(indexed);
  if (long.length === 0) {
    const { rows } = await sql<SearchRow>`
      select ${SEARCH_COLUMNS} from messages m join sessions s on s.id = m.session_id
      where ${sql.join(conditions, sql` and `)}
      order by m.created_at desc, m.id desc
      limit ${q.limit}`.execute(db);
    return rows;
  }
  // Words hold only letters, digits and marks: nothing to escape inside a quoted term.
  const match = [...new Set(long.flatMap(probes))].map((t) => `"${t}"`).join(' AND ');
  const shift = sql.lit(SEARCH_KEY_SHIFT);
  /** Matches with keys in [from, below) (either bound optional), newest key first. */
  const read = async (bounds: { from?: number; below?: number }, limit?: number) => {
    const where = [sql`messages_search match ${match}`, ...conditions];
    // The bounds are milliseconds; the keys are milliseconds shifted left (migration 008).
    if (bounds.below !== undefined) where.push(sql`f.rowid < (${bounds.below} << ${shift})`);
    if (bounds.from !== undefined) where.push(sql`f.rowid >= (${bounds.from} << ${shift})`);
    const { rows } = await sql<SearchRow>`
      select ${SEARCH_COLUMNS}
      from messages_search f cross join messages m on m.rowid = f.message_rowid join sessions s on s.id = m.session_id
      where ${sql.join(where, sql` and `)}
      order by f.rowid desc
      ${limit === undefined ? sql`` : sql`limit ${limit}`}`.execute(db);
    return rows;
  };
  const rows = await read({ below: q.after === undefined ? undefined : q.after.createdAt + 1 }, q.limit);
  const last = rows[rows.length - 1];
  if (rows.length < q.limit || last === undefined) return rows.sort(newestFirst);
  // The page ends inside the millisecond of its last row: read all of that millisecond's matches
  // (few), so that the page holds the highest ids of it, as the (created_at, id) order wants.
  const lastMs = Number(last.created_at);
  const tie = await read({ from: lastMs, below: lastMs + 1 });
  return [...rows.filter((r) => Number(r.created_at) > lastMs), ...tie].sort(newestFirst).slice(0, q.limit);
}
