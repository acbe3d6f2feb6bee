/**
 * Session rows on SQLite: the hot statements (read, insert, save) prepared and run
 * synchronously; the rest is the shared Kysely implementation.
 */
import type { CompiledQuery, Selectable } from 'kysely';
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import type { Session } from '../../domain/session.js';
import type { SessionsTable } from '../schema.js';
import type { OpsContext } from '../sql/context.js';
import { counterRows } from '../sql/counters.js';
import { sessionRow, sessionStateColumns, STATE_COLUMNS } from '../sql/rows.js';
import { SqlSessions } from '../sql/sessions.js';
import type { SaveOptions } from '../store.js';
import { settled, type SqliteStatements } from './statements.js';

/** Every column of an insert: the identity and settings of a session, then its state. */
const INSERT_COLUMNS = [
  'id',
  'event_seq',
  'channel_id',
  'created_at',
  'token_hash',
  'agent_id',
  'user_id',
  'metadata',
  'reply_policy',
  ...STATE_COLUMNS,
] as const;

const INSERT = `insert into sessions (${INSERT_COLUMNS.join(', ')}) values (${INSERT_COLUMNS.map((c) => `@${c}`).join(', ')})`;

const COUNTERS = `insert into session_counts (scope, shard, sessions, unexpired) values (@scope, @shard, @sessions, @unexpired)
  on conflict (scope, shard) do update set sessions = sessions + excluded.sessions, unexpired = unexpired + excluded.unexpired`;

/** The update of a save, for each combination of its options. */
function saveSql(options: SaveOptions): string {
  const set = STATE_COLUMNS.map((c) => `${c} = @${c}`);
  if (options.rearmWarning) set.push('warned = 0');
  if (options.settings) set.push('metadata = @metadata', 'reply_policy = @reply_policy');
  set.push('event_seq = event_seq + @added', 'version = version + 1');
  return `update sessions set ${set.join(', ')} where id = @id returning event_seq`;
}

export class SqliteSessions extends SqlSessions {
  constructor(
    ctx: OpsContext,
    private readonly statements: SqliteStatements,
  ) {
    super(ctx);
  }

  protected override read<R>(query: CompiledQuery<R>): Promise<R[]> {
    if (!this.statements.direct(this.ctx)) return super.read(query);
    return settled(() => this.statements.rows<R>(query.sql, ...query.parameters));
  }

  override readSessionRow(id: string): Promise<Selectable<SessionsTable> | undefined> {
    if (!this.statements.direct(this.ctx)) return super.readSessionRow(id);
    return settled(() => this.statements.get('select * from sessions where id = ?').get(id) as Selectable<SessionsTable> | undefined);
  }

  override insertSession(session: Session, tokenHash?: string, events: PendingEvent[] = []): Promise<SessionEvent[]> {
    this.ctx.sessionCache?.invalidate(session.id);
    return this.ctx.atomically((ops) =>
      settled(() => {
        this.statements.get(INSERT).run(sessionRow(session, tokenHash, events.length));
        const counters = this.statements.get(COUNTERS);
        for (const row of counterRows('sqlite', [{ agentId: session.agentId, sessions: 1, unexpired: 1 }])) counters.run(row);
        return events.length === 0 ? [] : ops.events.insertEvents(session.id, session.agentId, 1, events);
      }),
    );
  }

  override saveSession(session: Session, events: PendingEvent[], options: SaveOptions = {}): Promise<SessionEvent[]> {
    this.ctx.sessionCache?.invalidate(session.id);
    return this.ctx.atomically((ops) =>
      settled(() => {
        const text = saveSql(options);
        const params: Record<string, unknown> = { ...sessionStateColumns(session), id: session.id, added: events.length };
        if (options.settings) {
          params.metadata = JSON.stringify(session.metadata);
          params.reply_policy = session.replyPolicy;
        }
        const row = this.statements.get(text).get(params) as { event_seq: number } | undefined;
        if (!row || events.length === 0) return [];
        return ops.events.insertEvents(session.id, session.agentId, Number(row.event_seq) - events.length + 1, events);
      }),
    );
  }
}
