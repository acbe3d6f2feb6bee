/**
 * The Store over Kysely, written once for both dialects. Dialect differences are confined to
 * row locking (PostgreSQL locks a session row read inside a transaction; SQLite's single writer
 * already serialises transactions) and to the connection set-up in sqlite.ts / postgres.ts.
 */
import { Migrator, sql, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { Scope } from '../auth/scopes.js';
import type { Agent, ProviderConfig } from '../domain/agent.js';
import type { PendingEvent, SessionEvent, SessionEventType } from '../domain/events.js';
import type { HistoryPlan } from '../domain/history.js';
import type { JsonObject } from '../domain/json.js';
import type { Attachment, Message } from '../domain/message.js';
import type { LifecycleFlags } from '../domain/schedule.js';
import { filterTargets, type MetadataFilter } from '../domain/list-filters.js';
import { foldForSearch } from '../domain/search.js';
import { warningStartsAt, type Session } from '../domain/session.js';
import { requireInstant } from '../domain/validation.js';
import { searchMessageRows } from './search.js';
import { migrationProvider } from './migrations/index.js';
import type { GroupCommit } from './group-commit.js';
import type { ApiKeyCache } from './key-cache.js';
import type { SessionCache } from './session-cache.js';
import { outboxInsert, SqlDeliveryStore, SqlWebhookStore } from './sql-webhooks.js';
import type { DeliveryStore, WebhookStore } from './webhooks.js';
import type { AgentsTable, ApiKeysTable, Database, MessagesTable, SessionsTable } from './schema.js';
import type {
  ApiKeyRecord,
  HealthCounts,
  IdempotencyRecord,
  MessageSearchQuery,
  SessionList,
  SessionListQuery,
  Store,
  StoreOps,
} from './store.js';

export type Dialect = 'sqlite' | 'postgres';

/** Most sessions and messages have neither metadata nor attachments: no parse for those. */
const parseObject = (text: string): JsonObject => (text === '{}' ? {} : JSON.parse(text));
const parseAttachments = (text: string): Attachment[] => (text === '[]' ? [] : JSON.parse(text));

const toSession = (row: Selectable<SessionsTable>): Session => ({
  id: row.id,
  channelId: row.channel_id,
  agentId: row.agent_id,
  userId: row.user_id,
  metadata: parseObject(row.metadata),
  config: {
    timeoutMinutes: row.timeout_minutes,
    autoRenew: row.auto_renew === 1,
    maxDurationMinutes: row.max_duration_minutes,
    warningThresholdMinutes: row.warning_threshold_minutes,
  },
  replyPolicy: row.reply_policy as Session['replyPolicy'],
  createdAt: Number(row.created_at),
  lastActivity: Number(row.last_activity),
  lastRenewal: Number(row.last_renewal),
  expiresAt: Number(row.expires_at),
  renewalCount: row.renewal_count,
  lastMessageAt: row.last_message_at === null ? null : Number(row.last_message_at),
});

/**
 * The columns a session's life changes. Who it belongs to and its metadata are written once, at
 * insert: leaving them out of every save keeps SQLite from rewriting the agent and user indexes
 * (and the metadata text) on each heartbeat.
 */
const sessionStateColumns = (s: Session) => ({
  timeout_minutes: s.config.timeoutMinutes,
  auto_renew: s.config.autoRenew ? 1 : 0,
  max_duration_minutes: s.config.maxDurationMinutes,
  warning_threshold_minutes: s.config.warningThresholdMinutes,
  last_activity: s.lastActivity,
  last_renewal: s.lastRenewal,
  expires_at: requireInstant(s.expiresAt, 'expiresAt'),
  renewal_count: s.renewalCount,
  last_message_at: s.lastMessageAt,
  warning_at: warningStartsAt(s),
});

const toMessage = (row: Omit<Selectable<MessagesTable>, 'session_id' | 'search_text'>, sessionId: string): Message => ({
  id: row.id,
  sessionId,
  content: row.content,
  authorId: row.author_id,
  isAgent: row.is_agent === 1,
  createdAt: Number(row.created_at),
  metadata: parseObject(row.metadata),
  attachments: parseAttachments(row.attachments),
  inReplyTo: row.in_reply_to,
});

/** The columns of a message but its session's id, which the queries of one session know. */
const MESSAGE_COLUMNS = ['id', 'content', 'author_id', 'is_agent', 'created_at', 'metadata', 'attachments', 'in_reply_to'] as const;

const toAgent = (row: Selectable<AgentsTable>): Agent => ({
  id: row.id,
  name: row.name,
  system: row.system,
  provider: JSON.parse(row.provider) as ProviderConfig,
  sessionDefaults: JSON.parse(row.session_defaults),
  metadata: JSON.parse(row.metadata),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

const agentColumns = (a: Agent) => ({
  name: a.name,
  system: a.system,
  provider: JSON.stringify(a.provider),
  session_defaults: JSON.stringify(a.sessionDefaults),
  metadata: JSON.stringify(a.metadata),
  updated_at: a.updatedAt,
});

const count = (value: unknown): number => Number(value ?? 0);

const toApiKey = (row: Selectable<ApiKeysTable>): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  scopes: JSON.parse(row.scopes) as Scope[],
  keyHash: row.key_hash,
  prefix: row.prefix,
  createdAt: Number(row.created_at),
  expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
});

const apiKeyColumns = (k: ApiKeyRecord) => ({
  id: k.id,
  name: k.name,
  scopes: JSON.stringify(k.scopes),
  key_hash: k.keyHash,
  prefix: k.prefix,
  created_at: requireInstant(k.createdAt, 'createdAt'),
  expires_at: k.expiresAt === null ? null : requireInstant(k.expiresAt, 'expiresAt'),
  last_used_at: k.lastUsedAt,
});

/** Shards per counter scope on PostgreSQL (SQLite has one writer: one shard). */
const COUNTER_SHARDS = 8;

interface CountChange {
  agentId: string;
  sessions: number;
  unexpired: number;
}

/** What deleting these session rows takes off the counters. */
const uncounted = (rows: Array<{ agent_id: string; expiry_emitted: number }>): CountChange[] =>
  rows.map((r) => ({ agentId: r.agent_id, sessions: -1, unexpired: Number(r.expiry_emitted) === 0 ? -1 : 0 }));

/**
 * Moves the counters of every session and of each agent named, sharded on PostgreSQL so that
 * concurrent transactions rarely wait for each other; the rows are always taken in the same
 * order (scope, then shard), so two transactions cannot deadlock on them.
 */
async function moveCounters(db: Kysely<Database>, dialect: Dialect, changes: CountChange[]): Promise<void> {
  const byScope = new Map<string, { sessions: number; unexpired: number }>();
  for (const c of changes) {
    for (const scope of ['', `agent:${c.agentId}`]) {
      const entry = byScope.get(scope) ?? { sessions: 0, unexpired: 0 };
      entry.sessions += c.sessions;
      entry.unexpired += c.unexpired;
      byScope.set(scope, entry);
    }
  }
  const shard = dialect === 'postgres' ? Math.floor(Math.random() * COUNTER_SHARDS) : 0;
  const rows = [...byScope]
    .filter(([, d]) => d.sessions !== 0 || d.unexpired !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([scope, d]) => ({ scope, shard, sessions: d.sessions, unexpired: d.unexpired }));
  if (rows.length === 0) return;
  await db
    .insertInto('session_counts')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['scope', 'shard']).doUpdateSet((eb) => ({
        sessions: eb('session_counts.sessions', '+', eb.ref('excluded.sessions')),
        unexpired: eb('session_counts.unexpired', '+', eb.ref('excluded.unexpired')),
      })),
    )
    .execute();
}

/** The events as stored and answered: numbered from `firstSeq`. */
const numbered = (sessionId: string, firstSeq: number, events: PendingEvent[]): SessionEvent[] =>
  events.map((e, i) => ({ type: e.type, sessionId, seq: firstSeq + i, at: new Date(e.at).toISOString(), data: e.data }));

const eventRows = (stored: SessionEvent[], events: PendingEvent[]) =>
  stored.map((e, i) => ({ session_id: e.sessionId, seq: e.seq, type: e.type, at: events[i]!.at, data: JSON.stringify(e.data) }));

/** `insert into events … returning` the columns the outbox selects from (PostgreSQL CTEs). */
const eventsInsert = (stored: SessionEvent[], events: PendingEvent[]) => {
  const values = eventRows(stored, events).map((r) => sql`(${r.session_id}, ${r.seq}, ${r.type}, ${r.at}, ${r.data})`);
  return sql`insert into events (session_id, seq, type, at, data) values ${sql.join(values)}
    returning session_id, seq, type, at, data`;
};
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

class SqlOps implements StoreOps {
  constructor(
    protected readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    /** Embedded mode only; shared by the store and its transactions. */
    protected readonly sessionCache?: SessionCache,
    /** Shared by the store and its transactions. */
    protected readonly keyCache?: ApiKeyCache,
    /** Embedded mode: transactions of one event-loop turn share one commit. */
    protected readonly groupCommit?: GroupCommit,
  ) {}

  /** Runs `work` atomically: in the current transaction, or in a new one. */
  protected atomically<T>(work: (ops: SqlOps) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this);
    return this.newTransaction(work);
  }

  protected newTransaction<T>(work: (ops: SqlOps) => Promise<T>): Promise<T> {
    const run = (trx: Kysely<Database>) => work(new SqlOps(trx, this.dialect, this.sessionCache, this.keyCache));
    return this.groupCommit ? this.groupCommit.run(run) : this.db.transaction().execute(run);
  }

  // ---- agents -------------------------------------------------------------------------------

  async insertAgent(agent: Agent): Promise<void> {
    await this.db
      .insertInto('agents')
      .values({ id: agent.id, created_at: agent.createdAt, ...agentColumns(agent) })
      .execute();
  }

  async getAgent(id: string): Promise<Agent | undefined> {
    const row = await this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAgent(row);
  }

  async listAgents(): Promise<Agent[]> {
    const rows = await this.db.selectFrom('agents').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toAgent);
  }

  async updateAgent(agent: Agent): Promise<void> {
    await this.db.updateTable('agents').set(agentColumns(agent)).where('id', '=', agent.id).execute();
  }

  async deleteAgent(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('agents').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async countAgents(): Promise<number> {
    const row = await this.db.selectFrom('agents').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return count(row?.n);
  }

  async activeSessionIdsOfAgent(agentId: string, now: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('agent_id', '=', agentId)
      .where('expires_at', '>', now)
      .execute();
    return rows.map((r) => r.id);
  }

  // ---- sessions -----------------------------------------------------------------------------

  async insertSession(session: Session, tokenHash?: string, events: PendingEvent[] = []): Promise<SessionEvent[]> {
    this.sessionCache?.invalidate(session.id);
    if (this.dialect === 'postgres') {
      // One statement, one round trip: the row, its counters (shards locked in scope order), its
      // first events and their outbox rows.
      const shard = Math.floor(Math.random() * COUNTER_SHARDS);
      const counters = sql`insert into session_counts (scope, shard, sessions, unexpired)
        select scope, ${shard}, 1, 1 from (select '' as scope from s union all select 'agent:' || agent_id from s) c
        order by scope
        on conflict (scope, shard) do update set
          sessions = session_counts.sessions + excluded.sessions,
          unexpired = session_counts.unexpired + excluded.unexpired`;
      const row = this.sessionRowInsert(session, tokenHash, events.length).returning('agent_id');
      if (events.length === 0) {
        await sql`with s as (${row}) ${counters}`.execute(this.db);
        return [];
      }
      const stored = numbered(session.id, 1, events);
      await sql`with s as (${row}), c as (${counters}), e as (${eventsInsert(stored, events)})
        ${outboxInsert(sql`e`, session.agentId)}`.execute(this.db);
      return stored;
    }
    return this.atomically(async (ops) => {
      await ops.sessionRowInsert(session, tokenHash, events.length).execute();
      await moveCounters(ops.db, this.dialect, [{ agentId: session.agentId, sessions: 1, unexpired: 1 }]);
      return events.length === 0 ? [] : ops.insertEvents(session.id, session.agentId, 1, events);
    });
  }

  private sessionRowInsert(session: Session, tokenHash: string | undefined, eventCount: number) {
    return this.db
      .insertInto('sessions')
      .values({
        id: session.id,
        event_seq: eventCount,
        channel_id: session.channelId,
        created_at: session.createdAt,
        token_hash: tokenHash ?? null,
        agent_id: session.agentId,
        user_id: session.userId,
        metadata: JSON.stringify(session.metadata),
        reply_policy: session.replyPolicy,
        ...sessionStateColumns(session),
      });
  }

  async getSessionByTokenHash(tokenHash: string): Promise<Session | undefined> {
    const row = await this.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && toSession(row);
  }

  /** A session row; inside a transaction on PostgreSQL it stays locked until commit. */
  private readSessionRow(id: string): Promise<Selectable<SessionsTable> | undefined> {
    const query = this.db.selectFrom('sessions').selectAll().where('id', '=', id);
    return (this.db.isTransaction && this.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
  }

  async getSession(id: string): Promise<Session | undefined> {
    // Inside a transaction the row is read (and, on PostgreSQL, locked) for a write to follow.
    const cache = this.db.isTransaction ? undefined : this.sessionCache;
    const cached = cache?.get(id);
    if (cached !== undefined) return cached;
    const ticket = cache?.ticket();
    const row = await this.readSessionRow(id);
    const session = row && toSession(row);
    if (session && ticket !== undefined) cache!.fill(ticket, session);
    return session;
  }

  saveSession(session: Session, events: PendingEvent[], options: { rearmWarning?: boolean; settings?: boolean } = {}): Promise<SessionEvent[]> {
    this.sessionCache?.invalidate(session.id);
    return this.atomically(async (ops) => {
      // The new state and the sequence numbers of its events in one statement.
      const row = await ops.db
        .updateTable('sessions')
        .set((eb) => ({
          ...sessionStateColumns(session),
          ...(options.rearmWarning ? { warned: 0 } : {}),
          ...(options.settings ? { metadata: JSON.stringify(session.metadata), reply_policy: session.replyPolicy } : {}),
          event_seq: eb('event_seq', '+', events.length),
        }))
        .where('id', '=', session.id)
        .returning('event_seq')
        .executeTakeFirst();
      if (!row || events.length === 0) return [];
      return ops.insertEvents(session.id, session.agentId, Number(row.event_seq) - events.length + 1, events);
    });
  }

  async getSessionByChannel(channelId: string): Promise<Session | undefined> {
    const row = await this.db.selectFrom('sessions').selectAll().where('channel_id', '=', channelId).executeTakeFirst();
    return row && toSession(row);
  }

  async getLifecycle(id: string): Promise<{ session: Session; flags: LifecycleFlags } | undefined> {
    const row = await this.readSessionRow(id);
    return row && { session: toSession(row), flags: { warned: row.warned === 1, expiryEmitted: row.expiry_emitted === 1 } };
  }

  setLifecycleFlags(id: string, flags: LifecycleFlags): Promise<void> {
    const emitted = flags.expiryEmitted ? 1 : 0;
    return this.atomically(async (ops) => {
      await ops.db.updateTable('sessions').set({ warned: flags.warned ? 1 : 0 }).where('id', '=', id).execute();
      // The expiry flag only where it changes, so that the counter moves exactly once.
      const changed = await ops.db
        .updateTable('sessions')
        .set({ expiry_emitted: emitted })
        .where('id', '=', id)
        .where('expiry_emitted', '<>', emitted)
        .returning('agent_id')
        .executeTakeFirst();
      if (changed) await moveCounters(ops.db, this.dialect, [{ agentId: changed.agent_id, sessions: 0, unexpired: emitted ? -1 : 1 }]);
    });
  }

  emitLifecycle(id: string, events: PendingEvent[], before: LifecycleFlags, after: LifecycleFlags): Promise<SessionEvent[]> {
    return this.atomically(async (ops) => {
      const row = await ops.db
        .updateTable('sessions')
        .set((eb) => ({
          warned: after.warned ? 1 : 0,
          expiry_emitted: after.expiryEmitted ? 1 : 0,
          event_seq: eb('event_seq', '+', events.length),
        }))
        .where('id', '=', id)
        .returning(['event_seq', 'agent_id'])
        .executeTakeFirst();
      if (!row) return [];
      if (before.expiryEmitted !== after.expiryEmitted) {
        await moveCounters(ops.db, this.dialect, [{ agentId: row.agent_id, sessions: 0, unexpired: after.expiryEmitted ? -1 : 1 }]);
      }
      if (events.length === 0) return [];
      return ops.insertEvents(id, row.agent_id, Number(row.event_seq) - events.length + 1, events);
    });
  }

  async dueLifecycleSessions(now: number, limit: number): Promise<string[]> {
    const warnings = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('warned', '=', 0)
      .where('warning_at', '<=', now)
      .orderBy('warning_at')
      .limit(limit)
      .execute();
    const expiries = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('expiry_emitted', '=', 0)
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return [...new Set([...expiries, ...warnings].map((r) => r.id))];
  }

  async nextLifecycleMoment(): Promise<number | undefined> {
    // Two index seeks (sessions_warning_due, sessions_expiry_due), not a scan: the scheduler
    // asks this on every poll, however many sessions there are.
    const [warning, expiry] = await Promise.all([
      this.db.selectFrom('sessions').select('warning_at as at').where('warned', '=', 0).orderBy('warning_at').limit(1).executeTakeFirst(),
      this.db.selectFrom('sessions').select('expires_at as at').where('expiry_emitted', '=', 0).orderBy('expires_at').limit(1).executeTakeFirst(),
    ]);
    const moments = [warning?.at, expiry?.at].filter((v) => v !== null && v !== undefined).map(Number);
    return moments.length ? Math.min(...moments) : undefined;
  }

  deleteSession(id: string): Promise<boolean> {
    this.sessionCache?.invalidate(id);
    return this.atomically(async (ops) => {
      await ops.db.deleteFrom('messages').where('session_id', '=', id).execute();
      await ops.db.deleteFrom('events').where('session_id', '=', id).execute();
      await ops.db.deleteFrom('idempotency_keys').where('session_id', '=', id).execute();
      const gone = await ops.db.deleteFrom('sessions').where('id', '=', id).returning(['agent_id', 'expiry_emitted']).execute();
      await moveCounters(ops.db, this.dialect, uncounted(gone));
      return gone.length > 0;
    });
  }

  /**
   * `stats` of the list. Without a user filter, from the counters, corrected exactly by what
   * time alone has changed since they moved, which index seeks find:
   * - active = not yet processed − processed backlog (due, not processed) + processed early;
   * - total = existing − past retention (not purged yet).
   * The corrections are as small as the scheduler's and the purge's backlogs.
   */
  private async listStats(q: SessionListQuery): Promise<SessionList['stats']> {
    const cutoff = q.now - q.retentionMs;
    if (q.userId) {
      let base = this.db.selectFrom('sessions').where('expires_at', '>', cutoff).where('user_id', '=', q.userId);
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
    const scope = q.agentId ? `agent:${q.agentId}` : '';
    const agent = q.agentId ? sql`agent_id = ${q.agentId} and` : sql``;
    const seek = (emitted: 0 | 1, condition: ReturnType<typeof sql>) =>
      sql`(select count(*) from sessions where ${agent} expiry_emitted = ${emitted} and ${condition})`;
    const { rows } = await sql<{ sessions: unknown; unexpired: unknown; backlog: unknown; early: unknown; gone0: unknown; gone1: unknown }>`
      select
        (select coalesce(sum(sessions), 0) from session_counts where scope = ${scope}) as sessions,
        (select coalesce(sum(unexpired), 0) from session_counts where scope = ${scope}) as unexpired,
        ${seek(0, sql`expires_at <= ${q.now}`)} as backlog,
        ${seek(1, sql`expires_at > ${q.now}`)} as early,
        ${seek(0, sql`expires_at <= ${cutoff}`)} as gone0,
        ${seek(1, sql`expires_at <= ${cutoff}`)} as gone1`.execute(this.db);
    const r = rows[0]!;
    const totalSessions = count(r.sessions) - count(r.gone0) - count(r.gone1);
    const activeSessions = count(r.unexpired) - count(r.backlog) + count(r.early);
    return { totalSessions, activeSessions, expiredSessions: totalSessions - activeSessions };
  }

  async listSessions(q: SessionListQuery): Promise<SessionList> {
    // Sessions past their retention period no longer exist, purged or not.
    // The page walks an index newest first (created_at, then id), reading the expiry from the
    // index. On SQLite `+expires_at` keeps the planner from choosing the expiry index and sorting
    // every match instead, which costs as much as the matches are many; PostgreSQL makes the
    // right choice, and checks the plain column on the index entries without reading the rows.
    const expiresAt = this.dialect === 'sqlite' ? sql<number>`+expires_at` : sql<number>`expires_at`;
    let filtered = this.db.selectFrom('sessions').where(expiresAt, '>', q.now - q.retentionMs);
    if (q.agentId) filtered = filtered.where('agent_id', '=', q.agentId);
    if (q.userId) filtered = filtered.where('user_id', '=', q.userId);
    for (const f of q.metadata ?? []) filtered = filtered.where(metadataMatches(this.dialect, f));

    const stats = await this.listStats(q);
    const { totalSessions, activeSessions, expiredSessions } = stats;

    if (q.status === 'active') filtered = filtered.where(expiresAt, '>', q.now);
    if (q.status === 'expired') filtered = filtered.where(expiresAt, '<=', q.now);
    const total =
      q.metadata && q.metadata.length > 0
        ? await this.countMatching(filtered)
        : q.status === 'active' ? activeSessions : q.status === 'expired' ? expiredSessions : totalSessions;
    // Keyset paging: right after the previous page's last session, by one seek on the index.
    if (q.after) {
      const { createdAt, id } = q.after;
      // A row-value comparison: both planners turn it into one range on (created_at, id).
      filtered = filtered.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(createdAt, id)));
    }

    const rows = await filtered
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(q.limit)
      .offset(q.offset)
      .execute();
    return { sessions: rows.map(toSession), total, stats };
  }

  /** `total` under metadata filters: the counters know nothing of metadata, so it is counted. */
  private async countMatching(filtered: SelectQueryBuilder<Database, 'sessions', object>): Promise<number> {
    const row = await filtered.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    return count(row?.n);
  }

  async healthCounts(now: number): Promise<HealthCounts> {
    const row = await this.db
      .selectFrom('sessions')
      .select((eb) => [
        eb.fn.sum<number>(sql`case when expires_at > ${now} then 1 else 0 end`).as('active'),
        eb.fn
          .sum<number>(
            sql`case when expires_at > ${now} and expires_at - warning_threshold_minutes * 60000 <= ${now} then 1 else 0 end`,
          )
          .as('expiring'),
        eb.fn.sum<number>(sql`case when expires_at <= ${now} and expiry_emitted = 0 then 1 else 0 end`).as('invalid'),
      ])
      .executeTakeFirst();
    return { activeSessions: count(row?.active), expiringSoon: count(row?.expiring), invalidSessions: count(row?.invalid) };
  }

  // ---- messages -----------------------------------------------------------------------------

  async insertMessage(m: Message): Promise<void> {
    await this.db
      .insertInto('messages')
      .values({
        id: m.id,
        session_id: m.sessionId,
        content: m.content,
        author_id: m.authorId,
        is_agent: m.isAgent ? 1 : 0,
        created_at: m.createdAt,
        metadata: JSON.stringify(m.metadata),
        attachments: JSON.stringify(m.attachments),
        in_reply_to: m.inReplyTo,
        search_text: foldForSearch(m.content),
      })
      .execute();
  }

  async searchMessages(q: MessageSearchQuery): Promise<Message[]> {
    const rows = await searchMessageRows(this.db, this.dialect, q);
    return rows.map((row) => toMessage(row, row.session_id));
  }

  async getMessage(id: string): Promise<Message | undefined> {
    const row = await this.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toMessage(row, row.session_id);
  }

  async findReplyTo(messageId: string): Promise<Message | undefined> {
    const row = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('in_reply_to', '=', messageId)
      .orderBy('created_at')
      .executeTakeFirst();
    return row && toMessage(row, row.session_id);
  }

  async listMessages(sessionId: string, plan: HistoryPlan): Promise<Message[]> {
    let query = this.db.selectFrom('messages').select(MESSAGE_COLUMNS).where('session_id', '=', sessionId);
    if (plan.before !== undefined) query = query.where('created_at', '<', plan.before);
    if (plan.after !== undefined) query = query.where('created_at', '>', plan.after);
    const rows = await query.orderBy('created_at', plan.order).limit(plan.fetch).execute();
    return rows.map((row) => toMessage(row, sessionId));
  }

  async recentMessages(sessionId: string, n: number): Promise<Message[]> {
    if (n <= 0) return [];
    const rows = await this.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('session_id', '=', sessionId)
      .orderBy('created_at', 'desc')
      .limit(n)
      .execute();
    return rows.map((row) => toMessage(row, sessionId)).reverse();
  }

  // ---- events -------------------------------------------------------------------------------

  appendEvents(sessionId: string, events: PendingEvent[]): Promise<SessionEvent[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.atomically(async (ops) => {
      const row = await ops.db
        .updateTable('sessions')
        .set((eb) => ({ event_seq: eb('event_seq', '+', events.length) }))
        .where('id', '=', sessionId)
        .returning(['event_seq', 'agent_id'])
        .executeTakeFirst();
      if (!row) return [];
      return ops.insertEvents(sessionId, row.agent_id, Number(row.event_seq) - events.length + 1, events);
    });
  }

  /**
   * Stores events numbered from `firstSeq`, which the caller reserved on the session row, with
   * their outbox rows (SPEC §11): one per webhook the event is for, in the same transaction.
   */
  private async insertEvents(sessionId: string, agentId: string, firstSeq: number, events: PendingEvent[]): Promise<SessionEvent[]> {
    const stored = numbered(sessionId, firstSeq, events);
    const delivered = events.some((e) => e.type !== 'message.chunk');
    if (delivered && this.dialect === 'postgres') {
      // One round trip: the events, and the outbox rows selected from what was inserted.
      await sql`with e as (${eventsInsert(stored, events)}) ${outboxInsert(sql`e`, agentId)}`.execute(this.db);
      return stored;
    }
    await this.db.insertInto('events').values(eventRows(stored, events)).execute();
    if (delivered) {
      const last = firstSeq + events.length - 1;
      const source = sql`(select session_id, seq, type, at, data from events where session_id = ${sessionId} and seq >= ${firstSeq} and seq <= ${last})`;
      await outboxInsert(source, agentId).execute(this.db);
    }
    return stored;
  }

  async lastEventSeq(sessionId: string): Promise<number> {
    const row = await this.db.selectFrom('sessions').select('event_seq').where('id', '=', sessionId).executeTakeFirst();
    return Number(row?.event_seq ?? 0);
  }

  async eventsAfter(sessionId: string, afterSeq: number, limit: number): Promise<SessionEvent[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      type: r.type as SessionEventType,
      sessionId: r.session_id,
      seq: Number(r.seq),
      at: new Date(Number(r.at)).toISOString(),
      data: JSON.parse(r.data),
    }));
  }

  // ---- idempotency --------------------------------------------------------------------------

  async getIdempotencyRecord(sessionId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const row = await this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('key', '=', key)
      .executeTakeFirst();
    return (
      row && {
        sessionId: row.session_id,
        key: row.key,
        requestHash: row.request_hash,
        messageId: row.message_id,
        completed: row.completed === 1,
        createdAt: Number(row.created_at),
      }
    );
  }

  async insertIdempotencyRecord(r: IdempotencyRecord): Promise<void> {
    await this.db
      .insertInto('idempotency_keys')
      .values({
        session_id: r.sessionId,
        key: r.key,
        request_hash: r.requestHash,
        message_id: r.messageId,
        completed: r.completed ? 1 : 0,
        created_at: r.createdAt,
      })
      .execute();
  }

  async completeIdempotencyRecord(sessionId: string, key: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ completed: 1 })
      .where('session_id', '=', sessionId)
      .where('key', '=', key)
      .execute();
  }

  // ---- api keys -----------------------------------------------------------------------------

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    this.keyCache?.invalidate();
    await this.db.insertInto('api_keys').values(apiKeyColumns(key)).execute();
  }

  async insertFirstApiKey(key: ApiKeyRecord): Promise<boolean> {
    this.keyCache?.invalidate();
    const v = apiKeyColumns(key);
    const bigint = (value: number | null) => sql<number>`cast(${value} as bigint)`;
    // One statement, so that SQLite takes its write lock at once (a read-then-write transaction
    // could fail with SQLITE_BUSY beside another writer). Two instances starting together may
    // both see an empty table; the fixed id of the first key lets only one insert win.
    const result = await this.db
      .insertInto('api_keys')
      .columns(['id', 'name', 'scopes', 'key_hash', 'prefix', 'created_at', 'expires_at', 'last_used_at'])
      .expression(
        this.db
          .selectNoFrom((eb) => [
            eb.val(v.id).as('id'),
            eb.val(v.name).as('name'),
            eb.val(v.scopes).as('scopes'),
            eb.val(v.key_hash).as('key_hash'),
            eb.val(v.prefix).as('prefix'),
            bigint(v.created_at).as('created_at'),
            bigint(v.expires_at).as('expires_at'),
            bigint(v.last_used_at).as('last_used_at'),
          ])
          .where((eb) => eb.not(eb.exists(eb.selectFrom('api_keys').select('id')))),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toApiKey(row);
  }

  async getApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const cache = this.db.isTransaction ? undefined : this.keyCache;
    const cached = cache?.get(keyHash);
    if (cached !== undefined) return cached;
    const ticket = cache?.ticket();
    const row = await this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
    const key = row && toApiKey(row);
    if (key && ticket !== undefined) cache!.fill(ticket, key);
    return key;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toApiKey);
  }

  async deleteApiKey(id: string): Promise<boolean> {
    this.keyCache?.invalidate();
    const result = await this.db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async touchApiKey(id: string, at: number): Promise<void> {
    this.keyCache?.invalidate();
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}

/** The advisory lock key the migrator holds on PostgreSQL (any constant bigint). */
const MIGRATION_LOCK = 7_310_517_204_811;

export class SqlStore extends SqlOps implements Store {
  readonly webhooks: WebhookStore = new SqlWebhookStore(this.db);
  readonly deliveries: DeliveryStore = new SqlDeliveryStore(this.db, this.dialect);

  transaction<T>(work: (tx: StoreOps) => Promise<T>): Promise<T> {
    return this.newTransaction(work);
  }

  async migrate(): Promise<string[]> {
    const run = async (db: Kysely<Database>) => {
      const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
      if (error) throw error;
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    };
    if (this.dialect !== 'postgres') return run(this.db);
    // Instances starting together: one migrates, the others wait for it on this lock (held by
    // one connection), then find nothing left to do.
    return this.db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
      try {
        return await run(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
      }
    });
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async purgeExpired(cutoff: number, batchSize: number): Promise<number> {
    const rows = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('expires_at', '<=', cutoff)
      .orderBy('expires_at')
      .limit(batchSize)
      .execute();
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) return 0;
    for (const id of ids) this.sessionCache?.invalidate(id);
    // Expired long ago, these sessions can no longer change; one short transaction per batch.
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('messages').where('session_id', 'in', ids).execute();
      await trx.deleteFrom('events').where('session_id', 'in', ids).execute();
      await trx.deleteFrom('idempotency_keys').where('session_id', 'in', ids).execute();
      const gone = await trx.deleteFrom('sessions').where('id', 'in', ids).returning(['agent_id', 'expiry_emitted']).execute();
      await moveCounters(trx, this.dialect, uncounted(gone));
      return gone.length;
    });
  }

  async purgeIdempotencyKeys(cutoff: number): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('created_at', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
