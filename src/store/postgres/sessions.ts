/**
 * Session rows on PostgreSQL: a create and a save each in one statement (one round trip), a
 * session read outside a transaction as a named prepared statement on the pool, and a
 * read-decide-write (heartbeat, renewal, PATCH) as one optimistic statement on the state this
 * instance last saw of the session.
 */
import { sql, type CompiledQuery, type Selectable } from 'kysely';
import type pg from 'pg';
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import type { Session } from '../../domain/session.js';
import type { SessionsTable } from '../schema.js';
import { outboxInsert } from '../sql-webhooks.js';
import type { OpsContext } from '../sql/context.js';
import { COUNTER_SHARDS } from '../sql/counters.js';
import { eventsInsert, numbered, SESSION_COLUMNS, sessionRow, toSession } from '../sql/rows.js';
import { SqlSessions } from '../sql/sessions.js';
import type { SaveOptions, SessionChange, SessionUpdate } from '../store.js';
import type { PreparedNames } from './prepared-names.js';
import { saveStatement, type SavedRow } from './session-save.js';
import type { SessionTurns } from './session-turns.js';
import type { WriteBases, WriteBasis } from './write-bases.js';

/**
 * Optimistic attempts of one update before it takes the row lock instead (a transaction): only a
 * session written by other instances this often, all at once, gets that far.
 */
const OPTIMISTIC_ATTEMPTS = 5;

/** What the optimistic path of a store shares with its transactions' parts. */
export interface OptimisticWrites {
  bases: WriteBases;
  turns: SessionTurns;
  names: PreparedNames;
}

/**
 * The session as the row holds it after `change` was written on `basis`: its owner and creation
 * are never written, its metadata and reply policy only by a PATCH of the settings.
 */
function asStored(basis: Session, change: SessionChange): Session {
  const settings = change.options?.settings === true;
  return {
    ...change.next,
    id: basis.id,
    channelId: basis.channelId,
    agentId: basis.agentId,
    userId: basis.userId,
    createdAt: basis.createdAt,
    metadata: settings ? change.next.metadata : basis.metadata,
    replyPolicy: settings ? change.next.replyPolicy : basis.replyPolicy,
  };
}

export class PostgresSessions extends SqlSessions {
  constructor(
    ctx: OpsContext,
    private readonly pool: pg.Pool,
    private readonly optimistic: OptimisticWrites,
    /** Names of the list's read statements, one per shape; shared by the store's parts. */
    private readonly listReads: PreparedNames,
  ) {
    super(ctx);
  }

  /**
   * The list's reads as named prepared statements, one per shape of SQL: each pooled connection
   * parses and plans a shape once instead of on every call (planning the counts, six subqueries
   * over a table of nine indexes, costs more than running them). Past the names' capacity a
   * shape runs unnamed.
   */
  protected override async read<R>(query: CompiledQuery<R>): Promise<R[]> {
    if (this.ctx.inTransaction) return super.read(query);
    const result = await this.pool.query({ ...this.listReads.of(query.sql), text: query.sql, values: [...query.parameters] });
    return result.rows as R[];
  }

  override async readSessionRow(id: string): Promise<Selectable<SessionsTable> | undefined> {
    // In a transaction the row is locked (for update), on the transaction's connection.
    if (this.ctx.inTransaction) return super.readSessionRow(id);
    const result = await this.pool.query<Selectable<SessionsTable>>({
      name: 'session_by_id',
      text: `select ${SESSION_COLUMNS.join(', ')} from sessions where id = $1`,
      values: [id],
    });
    return result.rows[0];
  }

  /** Outside a transaction the state read is also the basis of this instance's next write. */
  override async getSession(id: string): Promise<Session | undefined> {
    if (this.ctx.inTransaction) return super.getSession(id);
    return (await this.readBasis(id))?.session;
  }

  override async insertSession(session: Session, tokenHash?: string, events: PendingEvent[] = []): Promise<SessionEvent[]> {
    // One statement, one round trip: the row, its counters (shards locked in scope order), its
    // first events and their outbox rows.
    const shard = Math.floor(Math.random() * COUNTER_SHARDS);
    const counters = sql`insert into session_counts (scope, shard, sessions, unexpired)
      select scope, ${shard}, 1, 1 from (select '' as scope from s union all select 'agent:' || agent_id from s) c
      order by scope
      on conflict (scope, shard) do update set
        sessions = session_counts.sessions + excluded.sessions,
        unexpired = session_counts.unexpired + excluded.unexpired`;
    const row = this.ctx.db
      .insertInto('sessions')
      .values(sessionRow(session, tokenHash, events.length))
      .returning('agent_id');
    if (events.length === 0) {
      await sql`with s as (${row}) ${counters}`.execute(this.ctx.db);
      return [];
    }
    const stored = numbered(session.id, 1, events);
    await sql`with s as (${row}), c as (${counters}), e as (${eventsInsert(stored, events)})
      ${outboxInsert(sql`e`, session.agentId)}`.execute(this.ctx.db);
    return stored;
  }

  override async saveSession(session: Session, events: PendingEvent[], options: SaveOptions = {}): Promise<SessionEvent[]> {
    // Written without a version check (inside a transaction, under the row lock): the basis this
    // instance kept is out of date from here on.
    this.optimistic.bases.forget(session.id);
    const { rows } = await this.ctx.db.executeQuery(saveStatement(this.ctx.db, session, events, options));
    const row = rows[0];
    if (!row || events.length === 0) return [];
    return numbered(session.id, Number(row.event_seq) - events.length + 1, events);
  }

  override deleteSession(id: string): Promise<boolean> {
    this.optimistic.bases.forget(id);
    return super.deleteSession(id);
  }

  /**
   * One round trip when this instance holds the session's current state: the change is decided
   * on it and written by one autocommit statement that matches only while the row still has the
   * version that state was read or written at. When another write got there first (another
   * instance, the scheduler, a send), the statement matches nothing: the row is read, the change
   * decided again on it, and written on that version. A refusal (not found, expired, invalid)
   * is only ever decided on a state just read, never on a kept one.
   */
  override updateSession(id: string, decide: (current: Session | undefined) => SessionChange): Promise<SessionUpdate> {
    if (this.ctx.inTransaction) return super.updateSession(id, decide);
    return this.optimistic.turns.run(id, () => this.updateOptimistically(id, decide));
  }

  private async updateOptimistically(id: string, decide: (current: Session | undefined) => SessionChange): Promise<SessionUpdate> {
    let basis = this.optimistic.bases.get(id);
    let kept = basis !== undefined;
    if (!kept) basis = await this.readBasis(id);
    for (let attempt = 1; attempt <= OPTIMISTIC_ATTEMPTS; attempt++) {
      let change: SessionChange;
      try {
        change = decide(basis?.session);
      } catch (error) {
        if (!kept) throw error;
        // Refused on the kept state, which may be out of date: decide on the stored one.
        basis = await this.readBasis(id);
        kept = false;
        continue;
      }
      // Decided for a session that does not exist: nothing to write.
      if (basis === undefined) return { session: change.next, events: [] };
      const written = await this.writeOnVersion(basis, change);
      if (written) return written;
      basis = await this.readBasis(id);
      kept = false;
    }
    // Written by others this often meanwhile: wait for the row lock instead.
    return super.updateSession(id, decide);
  }

  /** The stored row, kept as the basis of the next write (or forgotten, when there is none). */
  private async readBasis(id: string): Promise<WriteBasis | undefined> {
    const row = await this.readSessionRow(id);
    if (row === undefined) {
      this.optimistic.bases.forget(id);
      return undefined;
    }
    const basis = { session: toSession(row), version: Number(row.version) };
    this.optimistic.bases.remember(basis.session, basis.version);
    return basis;
  }

  /** The change written if the row still has the basis's version; undefined when it has not. */
  private async writeOnVersion(basis: WriteBasis, change: SessionChange): Promise<SessionUpdate | undefined> {
    const { events } = change;
    const statement = saveStatement(this.ctx.db, change.next, events, change.options ?? {}, basis.version);
    const { rows } = await this.pool.query<SavedRow>({
      ...this.optimistic.names.of(statement.sql),
      text: statement.sql,
      values: statement.parameters as unknown[],
    });
    const row = rows[0];
    if (row === undefined) return undefined;
    const session = asStored(basis.session, change);
    this.optimistic.bases.remember(session, Number(row.version));
    const stored = events.length === 0 ? [] : numbered(session.id, Number(row.event_seq) - events.length + 1, events);
    return { session: change.next, events: stored };
  }
}
