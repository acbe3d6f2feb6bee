/**
 * Message search on PostgreSQL (SPEC §12): one LIKE per word on `search_text`, which pg_trgm's
 * GIN index (migration 006) answers for words of three or more characters. The index finds every
 * match, as a bitmap of rows, but knows nothing of time: to return the newest, the rows must be
 * read. A word in 2,400 of a million messages cost 2,400 row reads, mostly from outside
 * PostgreSQL's shared buffers (27 ms of PostgreSQL CPU a query, docs/benchmarks.md).
 *
 * So the search looks first among the newest messages (`recentFrom`: where the newest
 * `RECENT_MESSAGES` start, from `RecentMessages`): PostgreSQL ANDs the GIN bitmap with the
 * range of the time's BRIN index (migration 010) and reads only the matches in it. A frequent word fills the page
 * there; only when it does not is the rest searched, before that point. A page is thus the
 * recent part's matches followed by the older part's, both newest first, never overlapping.
 *
 * Within a part, the sessions (retention, agent, user) are joined only to the newest candidates:
 * joined to every match, their lookups cost ten times the rest (38 ms against 4 ms for a word in
 * 2,400 of a million messages). When the candidates were cut short and the session conditions
 * left the page unfilled, the newest matches of the sessions in scope may lie further back: the
 * part is then searched whole, every match joined.
 *
 * Every scan orders by `created_at + 0`: the same order, but not one the time index can give, so
 * the planner never walks that index testing every message against the words (a rare word would
 * walk the whole table).
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.js';
import { SEARCH_COLUMNS, type SearchRow } from '../sql/rows.js';
import type { MessageSearchQuery } from '../store.js';

/** Candidates taken from `messages` alone, as a multiple of the page, before the sessions are looked at. */
const CANDIDATES_PER_ROW = 4;

/**
 * How many of the newest messages a search looks at first. A word in one message of 1,000 has
 * 20 matches among them, a page's worth; the bitmap of this many rows costs about 1 ms.
 */
const RECENT_MESSAGES = 20_000;

/** How long an instance keeps where the newest messages start before looking again. */
const RECENT_TTL_MS = 1_000;

export async function postgresSearch(db: Kysely<Database>, q: MessageSearchQuery, recentFrom: number | undefined): Promise<SearchRow[]> {
  // Words hold only letters, digits and marks: no LIKE wildcard or escape to neutralise.
  const onMessage: RawBuilder<unknown>[] = q.words.map((w) => sql`m.search_text like ${`%${w}%`}`);
  if (q.sessionId) onMessage.push(sql`m.session_id = ${q.sessionId}`);
  if (q.after) onMessage.push(sql`(m.created_at, m.id) < (${q.after.createdAt}, ${q.after.id})`);
  const onSession: RawBuilder<unknown>[] = [sql`s.expires_at > ${q.now - q.retentionMs}`];
  if (q.agentId) onSession.push(sql`s.agent_id = ${q.agentId}`);
  if (q.userId) onSession.push(sql`s.user_id = ${q.userId}`);

  // One session's messages come from its own index (session_id, created_at): nothing to narrow.
  const recentFirst = recentFrom !== undefined && !q.sessionId && (q.after === undefined || q.after.createdAt >= recentFrom);
  const parts = recentFirst
    ? [
        [...onMessage, sql`m.created_at >= ${recentFrom}`],
        [...onMessage, sql`m.created_at < ${recentFrom}`],
      ]
    : [onMessage];
  const page = await searchParts(db, parts, onSession, q.limit);
  if (page !== undefined) return page;

  // The session conditions left the page unfilled from candidates that were cut short.
  const { rows } = await sql<SearchRow>`
    select ${SEARCH_COLUMNS}
    from messages m join sessions s on s.id = m.session_id
    where ${sql.join([...onMessage, ...onSession], sql` and `)}
    order by m.created_at + 0 desc, m.id desc
    limit ${q.limit}`.execute(db);
  return rows;
}

/**
 * The page from consecutive parts of the messages (newest part first), in one statement: each
 * part's newest candidates, joined to their sessions; a part is searched only while the parts
 * before it left the page unfilled (a one-time filter: PostgreSQL does not scan it otherwise).
 * Undefined when a part's candidates were cut short and the page was not filled before the next.
 */
async function searchParts(
  db: Kysely<Database>,
  parts: RawBuilder<unknown>[][],
  onSession: RawBuilder<unknown>[],
  limit: number,
): Promise<SearchRow[] | undefined> {
  const candidates = limit * CANDIDATES_PER_ROW;
  const ctes: RawBuilder<unknown>[] = [];
  parts.forEach((onMessage, i) => {
    const c = sql.raw(`c${i}`);
    const p = sql.raw(`p${i}`);
    const earlier = Array.from({ length: i }, (_, j) => sql`(select count(*) from ${sql.raw(`p${j}`)})`);
    const unfilled = earlier.length === 0 ? [] : [sql`${sql.join(earlier, sql` + `)} < ${limit}`];
    ctes.push(sql`${c} as materialized (
      select ${SEARCH_COLUMNS} from messages m
      where ${sql.join([...onMessage, ...unfilled], sql` and `)}
      order by m.created_at + 0 desc, m.id desc
      limit ${candidates})`);
    ctes.push(sql`${p} as materialized (
      select m.* from ${c} m join sessions s on s.id = m.session_id
      where ${sql.join(onSession, sql` and `)}
      order by m.created_at desc, m.id desc
      limit ${limit})`);
  });
  const pages = parts.map((_, i) => sql`select * from ${sql.raw(`p${i}`)}`);
  const counts = parts.map(
    (_, i) => sql`(select count(*) from ${sql.raw(`c${i}`)}) as ${sql.raw(`candidates${i}`)},
    (select count(*) from ${sql.raw(`p${i}`)}) as ${sql.raw(`found${i}`)}`,
  );
  // The left join returns the counts even when the page is empty (a row of nulls).
  const { rows } = await sql<PartRow>`
    with ${sql.join(ctes)},
    page as (${sql.join(pages, sql` union all `)})
    select page.*, ${sql.join(counts)}
    from (values (1)) as one (x) left join page on true
    order by page.created_at desc, page.id desc
    limit ${limit}`.execute(db);
  const counted = rows[0];
  let found = 0;
  for (let i = 0; i < parts.length && found < limit; i++) {
    found += Number(counted?.[`found${i}`] ?? 0);
    if (found < limit && Number(counted?.[`candidates${i}`] ?? 0) >= candidates) return undefined;
  }
  // A row with an id is a message's, every column set (the counts beside them are not read).
  return rows.filter((r) => r.id !== null) as unknown as SearchRow[];
}

/** A row of `searchParts`: a message's columns (all null when the page is empty) and the parts' counts. */
type PartRow = { [K in keyof SearchRow]: SearchRow[K] | null } & Record<`candidates${number}` | `found${number}`, string | number>;

/**
 * Where the newest `size` messages start (the time of the oldest of them), read from the time
 * index at most once a second per instance and shared by the searches meanwhile. Any value gives
 * the same results (the older part covers the rest); a stale one only makes the recent part a
 * little larger. Undefined while there are fewer messages than that.
 */
export class RecentMessages {
  private cached: { at: number; from: Promise<number | undefined> } | undefined;

  constructor(
    private readonly size = RECENT_MESSAGES,
    private readonly now: () => number = Date.now,
  ) {}

  from(db: Kysely<Database>): Promise<number | undefined> {
    const now = this.now();
    if (this.cached && now - this.cached.at < RECENT_TTL_MS) return this.cached.from;
    const from = sql<{ created_at: string | number }>`
      select created_at from messages order by created_at desc offset ${this.size - 1} limit 1`
      .execute(db)
      .then(({ rows }) => (rows[0] === undefined ? undefined : Number(rows[0].created_at)));
    const cached = { at: now, from };
    this.cached = cached;
    // A failed read is not kept: the next search reads again.
    from.catch(() => {
      if (this.cached === cached) this.cached = undefined;
    });
    return from;
  }
}
