/**
 * Session rows over Kysely: the shared implementation (both dialects), which sqlite/ and
 * postgres/ specialise on their hot statements.
 */
import { sql, type CompiledQuery, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import { filterTargets, type MetadataFilter } from '../../domain/list-filters.js';
import type { Session } from '../../domain/session.js';
import type { Database, SessionsTable } from '../schema.js';
import type { HealthCounts, SaveOptions, SessionChange, SessionList, SessionListQuery, SessionStore, SessionUpdate } from '../store.js';
import type { OpsContext } from './context.js';
import { moveCounters, uncounted } from './counters.js';
import { count, SESSION_COLUMNS, sessionRow, sessionStateColumns, toSession, type Dialect } from './rows.js';

/**
 * A metadata filter as SQL (the rule is in domain/list-filters.ts): the top-level value is that
 * string, or that boolean or number when the filter's value is the JSON text of one.
 */
function metadataMatches(dialect: Dialect, f: MetadataFilter) {
  const t = filterTargets(f.value);
  if (dialect === 'postgres') {
    const value = sql`(metadata::jsonb -> ${f.key})`;
    const alternatives = [sql`${value} = to_jsonb(${t.string}::text)`];
    if (t.boolean !== undefined || t.number !== undefined) alternatives.push(sql`${value} = ${f.value}::jsonb`);
    return sql<boolean>`(${sql.join(alternatives, sql` or `)})`;
  }
  const path = `$."${f.key}"`;
  const type = sql`json_type(metadata, ${path})`;
  const value = sql`json_extract(metadata, ${path})`;
  const alternatives = [sql`(${type} = 'text' and ${value} = ${t.string})`];
  if (t.boolean !== undefined) alternatives.push(sql`${type} = ${t.boolean ? 'true' : 'false'}`);
  if (t.number !== undefined) alternatives.push(sql`(${type} in ('integer', 'real') and ${value} = ${t.number})`);
  return sql<boolean>`(${sql.join(alternatives, sql` or `)})`;
}

export class SqlSessions implements SessionStore {
  constructor(protected readonly ctx: OpsContext) {}

  /** Runs a read of the list or its counts; SQLite runs it as a prepared statement (sqlite/sessions.ts). */
  protected async read<R>(query: CompiledQuery<R>): Promise<R[]> {
    return (await this.ctx.db.executeQuery(query)).rows;
  }

  insertSession(session: Session, tokenHash?: string, events: PendingEvent[] = []): Promise<SessionEvent[]> {
    this.ctx.sessionCache?.invalidate(session.id);
    return this.ctx.atomically(async (ops) => {
      await ops.ctx.db
        .insertInto('sessions')
        .values(sessionRow(session, tokenHash, events.length))
        .execute();
      await moveCounters(ops.ctx.db, this.ctx.dialect, [{ agentId: session.agentId, sessions: 1, unexpired: 1 }]);
      return events.length === 0 ? [] : ops.events.insertEvents(session.id, session.agentId, 1, events);
    });
  }

  async getSessionByTokenHash(tokenHash: string): Promise<Session | undefined> {
    const row = await this.ctx.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && toSession(row);
  }

  /** A session row; inside a transaction on PostgreSQL it stays locked until commit. */
  readSessionRow(id: string): Promise<Selectable<SessionsTable> | undefined> {
    const query = this.ctx.db.selectFrom('sessions').selectAll().where('id', '=', id);
    return (this.ctx.inTransaction && this.ctx.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
  }

  async getSession(id: string): Promise<Session | undefined> {
    // Inside a transaction the row is read (and, on PostgreSQL, locked) for a write to follow.
    const cache = this.ctx.inTransaction ? undefined : this.ctx.sessionCache;
    const cached = cache?.get(id);
    if (cached !== undefined) return cached;
    const ticket = cache?.ticket();
    const row = await this.readSessionRow(id);
    const session = row && toSession(row);
    if (session && cache !== undefined && ticket !== undefined) cache.fill(ticket, session);
    return session;
  }

  saveSession(session: Session, events: PendingEvent[], options: SaveOptions = {}): Promise<SessionEvent[]> {
    this.ctx.sessionCache?.invalidate(session.id);
    return this.ctx.atomically(async (ops) => {
      // The new state and the sequence numbers of its events in one statement.
      const row = await ops.ctx.db
        .updateTable('sessions')
        .set((eb) => ({
          ...sessionStateColumns(session),
          ...(options.rearmWarning ? { warned: 0 } : {}),
          ...(options.settings ? { metadata: JSON.stringify(session.metadata), reply_policy: session.replyPolicy } : {}),
          event_seq: eb('event_seq', '+', events.length),
          version: eb('version', '+', 1),
        }))
        .where('id', '=', session.id)
        .returning('event_seq')
        .executeTakeFirst();
      if (!row || events.length === 0) return [];
      return ops.events.insertEvents(session.id, session.agentId, Number(row.event_seq) - events.length + 1, events);
    });
  }

  /** Under the row lock on PostgreSQL (in a transaction), in the one writer's turn on SQLite. */
  updateSession(id: string, decide: (current: Session | undefined) => SessionChange): Promise<SessionUpdate> {
    return this.ctx.atomically(async (ops) => {
      const change = decide(await ops.getSession(id));
      const events = await ops.saveSession(change.next, change.events, change.options);
      return { session: change.next, events };
    });
  }

  async getSessionByChannel(channelId: string): Promise<Session | undefined> {
    const row = await this.ctx.db.selectFrom('sessions').selectAll().where('channel_id', '=', channelId).executeTakeFirst();
    return row && toSession(row);
  }

  deleteSession(id: string): Promise<boolean> {
    this.ctx.sessionCache?.invalidate(id);
    return this.ctx.atomically(async (ops) => {
      const db = ops.ctx.db;
      await db.deleteFrom('messages').where('session_id', '=', id).execute();
      await db.deleteFrom('events').where('session_id', '=', id).execute();
      await db.deleteFrom('idempotency_keys').where('session_id', '=', id).execute();
      const gone = await db.deleteFrom('sessions').where('id', '=', id).returning(['agent_id', 'expiry_emitted']).execute();
      await moveCounters(db, this.ctx.dialect, uncounted(gone));
      return gone.length > 0;
    });
  }

  /**
   * Counts of sessions (not purged), from the counters, corrected exactly by what time alone has
   * changed since they moved, which index seeks find (sessions_expiry_due, sessions_agent_expiry):
   * - active = not yet processed − processed backlog (due, not processed) + processed early;
   * - total = existing − past retention (not purged yet).
   * The corrections are as small as the scheduler's and the purge's backlogs.
   */
  private async countedStats(now: number, agentId: string | undefined, cutoff?: number) {
    const scope = agentId ? `agent:${agentId}` : '';
    const agent = agentId ? sql`agent_id = ${agentId} and` : sql``;
    const seek = (emitted: 0 | 1, condition: ReturnType<typeof sql>) =>
      sql`(select count(*) from sessions where ${agent} expiry_emitted = ${emitted} and ${condition})`;
    const [r] = await this.read(
      sql<{ sessions: unknown; unexpired: unknown; backlog: unknown; early: unknown; gone0: unknown; gone1: unknown }>`
      select
        (select coalesce(sum(sessions), 0) from session_counts where scope = ${scope}) as sessions,
        (select coalesce(sum(unexpired), 0) from session_counts where scope = ${scope}) as unexpired,
        ${seek(0, sql`expires_at <= ${now}`)} as backlog,
        ${seek(1, sql`expires_at > ${now}`)} as early,
        ${cutoff === undefined ? sql`0` : seek(0, sql`expires_at <= ${cutoff}`)} as gone0,
        ${cutoff === undefined ? sql`0` : seek(1, sql`expires_at <= ${cutoff}`)} as gone1`.compile(this.ctx.db),
    );
    if (!r) throw new Error('the counts query returned no row');
    const totalSessions = count(r.sessions) - count(r.gone0) - count(r.gone1);
    const activeSessions = count(r.unexpired) - count(r.backlog) + count(r.early);
    return { totalSessions, activeSessions, expiredSessions: totalSessions - activeSessions, backlog: count(r.backlog) };
  }

  /** `stats` of the list: from the counters, or counted under a user filter (no counters per user). */
  private async listStats(q: SessionListQuery): Promise<SessionList['stats']> {
    const cutoff = q.now - q.retentionMs;
    if (q.userId) {
      let base = this.ctx.db.selectFrom('sessions').where('expires_at', '>', cutoff).where('user_id', '=', q.userId);
      if (q.agentId) base = base.where('agent_id', '=', q.agentId);
      const row = await base
        .select((eb) => [
          eb.fn.countAll().as('total'),
          eb.fn.sum<number>(sql`case when expires_at > ${q.now} then 1 else 0 end`).as('active'),
        ])
        .executeTakeFirst();
      const total = count(row?.total);
      const active = count(row?.active);
      return { totalSessions: total, activeSessions: active, expiredSessions: total - active };
    }
    const { totalSessions, activeSessions, expiredSessions } = await this.countedStats(q.now, q.agentId, cutoff);
    return { totalSessions, activeSessions, expiredSessions };
  }

  async listSessions(q: SessionListQuery): Promise<SessionList> {
    // Sessions past their retention period no longer exist, purged or not.
    // The page walks an index newest first (created_at, then id), reading the expiry from the
    // index. On SQLite `+expires_at` keeps the planner from choosing an expiry index and sorting
    // every match instead, which costs as much as the matches are many; PostgreSQL makes the
    // right choice, and checks the plain column on the index entries without reading the rows.
    const expiresAt = this.ctx.dialect === 'sqlite' ? sql<number>`+expires_at` : sql<number>`expires_at`;
    let filtered = this.ctx.db.selectFrom('sessions').where(expiresAt, '>', q.now - q.retentionMs);
    if (q.agentId) filtered = filtered.where('agent_id', '=', q.agentId);
    if (q.userId) filtered = filtered.where('user_id', '=', q.userId);
    for (const f of q.metadata ?? []) filtered = filtered.where(metadataMatches(this.ctx.dialect, f));

    const stats = await this.listStats(q);
    const { totalSessions, activeSessions, expiredSessions } = stats;

    if (q.status === 'active') filtered = filtered.where(expiresAt, '>', q.now);
    if (q.status === 'expired') filtered = filtered.where(expiresAt, '<=', q.now);
    const total =
      q.metadata && q.metadata.length > 0
        ? await this.countMatching(filtered)
        : q.status === 'active'
          ? activeSessions
          : q.status === 'expired'
            ? expiredSessions
            : totalSessions;
    // Keyset paging: right after the previous page's last session, by one seek on the index.
    if (q.after) {
      const { createdAt, id } = q.after;
      // A row-value comparison: both planners turn it into one range on (created_at, id).
      filtered = filtered.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(createdAt, id)));
    }

    const rows = await this.read(
      filtered.select(SESSION_COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset).compile(),
    );
    return { sessions: rows.map(toSession), total, stats };
  }

  /** `total` under metadata filters: the counters know nothing of metadata, so it is counted. */
  private async countMatching(filtered: SelectQueryBuilder<Database, 'sessions', object>): Promise<number> {
    const row = await filtered.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return count(row?.n);
  }

  /**
   * Active sessions and the expiry backlog from the counters and their corrections (as the
   * list's stats); the sessions in their warning window by a range of sessions_expiry_due's
   * entries (migration 007 puts `warning_at` in them), which holds only unexpired sessions: no
   * row is read, and no expired session is looked at.
   */
  async healthCounts(now: number): Promise<HealthCounts> {
    const counted = await this.countedStats(now, undefined);
    const { rows } = await sql<{ expiring: unknown }>`
      select count(*) as expiring from sessions
      where expiry_emitted in (0, 1) and expires_at > ${now} and warning_at <= ${now}`.execute(this.ctx.db);
    return { activeSessions: counted.activeSessions, expiringSoon: count(rows[0]?.expiring), invalidSessions: counted.backlog };
  }
}
