/**
 * The search query of each dialect (migrations 006 and 008 build their indexes). Both return
 * messages whose folded text contains every word, newest first by (created_at, id), from
 * sessions not past retention, after the cursor's position when given:
 * - SQLite: the FTS5 trigram table `messages_search` is keyed by time (migration 008), so it
 *   walks the candidates (rows holding three trigrams of each word of three or more characters)
 *   newest first and stops after `limit` rows that hold every word (instr()), instead of reading
 *   and sorting every match. Messages of the same millisecond come out of the index in rowid order: the
 *   last millisecond of a page is read whole and sorted by id.
 * - PostgreSQL: one LIKE per word on `search_text`, which pg_trgm's GIN index answers for words of
 *   three or more characters; every match is read and the newest kept (see `postgresSearch`).
 * A query whose words are all shorter than three characters has nothing for a trigram index to
 * find, so it reads every message in scope (fast with `sessionId`, slow over everything).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { INDEXED_WORD_MIN } from '../domain/search.js';
import { SEARCH_KEY_SHIFT } from './migrations/008-search-order.js';
import type { Database, MessagesTable } from './schema.js';
import type { MessageSearchQuery } from './store.js';

/** A message row as search reads it: every column but the folded search text. */
export type SearchRow = Omit<MessagesTable, 'search_text'>;

const COLUMNS = sql`m.id, m.session_id, m.content, m.author_id, m.is_agent, m.created_at, m.metadata, m.attachments, m.in_reply_to`;

const indexed = (word: string) => [...word].length >= INDEXED_WORD_MIN;

/**
 * The trigrams a word's candidates must hold: its first, middle and last. A phrase of all its
 * trigrams would be exact, but FTS5 reads every trigram's positions to check a phrase, which is
 * several times slower than intersecting three trigrams' rowids; instr() then checks the word.
 */
function probes(word: string): string[] {
  const chars = [...word];
  const at = (i: number) => chars.slice(i, i + 3).join('');
  return [at(0), at(Math.floor((chars.length - 3) / 2)), at(chars.length - 3)];
}

/** Newest first by (created_at, id). */
const newestFirst = (a: SearchRow, b: SearchRow) => Number(b.created_at) - Number(a.created_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The conditions on the session (scope, retention) and the cursor, for both dialects. */
function scopeConditions(q: MessageSearchQuery): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [sql`s.expires_at > ${q.now - q.retentionMs}`];
  if (q.agentId) conditions.push(sql`s.agent_id = ${q.agentId}`);
  if (q.userId) conditions.push(sql`s.user_id = ${q.userId}`);
  if (q.sessionId) conditions.push(sql`m.session_id = ${q.sessionId}`);
  if (q.after) conditions.push(sql`(m.created_at, m.id) < (${q.after.createdAt}, ${q.after.id})`);
  return conditions;
}

export async function searchMessageRows(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', q: MessageSearchQuery): Promise<SearchRow[]> {
  return dialect === 'sqlite' ? sqliteSearch(db, q) : postgresSearch(db, q);
}

async function sqliteSearch(db: Kysely<Database>, q: MessageSearchQuery): Promise<SearchRow[]> {
  const conditions = scopeConditions(q);
  // Every word is checked on the row itself: the index only narrows the candidates.
  for (const w of q.words) conditions.push(sql`instr(m.search_text, ${w}) > 0`);
  const long = q.words.filter(indexed);
  if (long.length === 0) {
    const { rows } = await sql<SearchRow>`
      select ${COLUMNS} from messages m join sessions s on s.id = m.session_id
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
      select ${COLUMNS}
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

/**
 * Candidates a PostgreSQL search takes from `messages` alone, as a multiple of the page, before
 * the sessions are looked at. Unscoped or session-scoped searches lose nothing to the session
 * conditions but retention, so one pass nearly always fills the page.
 */
const CANDIDATES_PER_ROW = 4;

/**
 * PostgreSQL: the GIN index finds every match (a bitmap), the table gives each one's time, the
 * newest are kept. Walking the (created_at, id) order and testing each message instead was
 * measured slower at a million messages (a LIKE costs microseconds per message, and a page of a
 * word in 0.2 % of them walks about 10,000), so it is not done; see docs/benchmarks.md.
 *
 * The sessions (retention, agent, user) are joined only to the newest candidates: joined to
 * every match, their lookups cost ten times the rest (38 ms against 4 ms for a word in 2,400 of
 * a million messages). When the candidates were cut short and the session conditions left the
 * page unfilled, the newest matches of the sessions in scope may lie further back: the search
 * is then run whole, every match joined.
 */
async function postgresSearch(db: Kysely<Database>, q: MessageSearchQuery): Promise<SearchRow[]> {
  // Words hold only letters, digits and marks: no LIKE wildcard or escape to neutralise.
  const onMessage: RawBuilder<unknown>[] = q.words.map((w) => sql`m.search_text like ${`%${w}%`}`);
  if (q.sessionId) onMessage.push(sql`m.session_id = ${q.sessionId}`);
  if (q.after) onMessage.push(sql`(m.created_at, m.id) < (${q.after.createdAt}, ${q.after.id})`);
  const onSession: RawBuilder<unknown>[] = [sql`s.expires_at > ${q.now - q.retentionMs}`];
  if (q.agentId) onSession.push(sql`s.agent_id = ${q.agentId}`);
  if (q.userId) onSession.push(sql`s.user_id = ${q.userId}`);

  const candidates = q.limit * CANDIDATES_PER_ROW;
  const { rows } = await sql<SearchRow & { candidates: string | number }>`
    with c as materialized (
      select ${COLUMNS} from messages m
      where ${sql.join(onMessage, sql` and `)}
      order by m.created_at desc, m.id desc
      limit ${candidates})
    select m.*, (select count(*) from c) as candidates
    from c m join sessions s on s.id = m.session_id
    where ${sql.join(onSession, sql` and `)}
    order by m.created_at desc, m.id desc
    limit ${q.limit}`.execute(db);
  const cutShort = Number(rows[0]?.candidates ?? (await countCandidates(db, onMessage, candidates))) >= candidates;
  if (rows.length === q.limit || !cutShort) return rows.map(({ candidates: _, ...row }) => row);

  const { rows: whole } = await sql<SearchRow>`
    select ${COLUMNS}
    from messages m join sessions s on s.id = m.session_id
    where ${sql.join([...onMessage, ...onSession], sql` and `)}
    order by m.created_at desc, m.id desc
    limit ${q.limit}`.execute(db);
  return whole;
}

/** How many candidates there were (at most `cap`), when the session conditions kept none of them. */
async function countCandidates(db: Kysely<Database>, onMessage: RawBuilder<unknown>[], cap: number): Promise<number> {
  const { rows } = await sql<{ n: string | number }>`
    select count(*) as n from (select 1 from messages m where ${sql.join(onMessage, sql` and `)} limit ${cap}) c`.execute(db);
  return Number(rows[0]?.n ?? 0);
}
