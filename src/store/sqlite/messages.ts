/** Messages on SQLite: the insert and the reads of one session's messages prepared. */
import type { HistoryPlan } from '../../domain/history.js';
import type { Message } from '../../domain/message.js';
import type { OpsContext } from '../sql/context.js';
import { messageRow, SqlMessages } from '../sql/messages.js';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from '../sql/rows.js';
import { settled, type SqliteStatements } from './statements.js';

const COLUMNS = MESSAGE_COLUMNS.join(', ');
/** The keys of `messageRow`. */
const INSERT_COLUMNS = [
  'id',
  'session_id',
  'content',
  'author_id',
  'is_agent',
  'created_at',
  'metadata',
  'attachments',
  'in_reply_to',
  'search_text',
];
const INSERT = `insert into messages (${INSERT_COLUMNS.join(', ')}) values (${INSERT_COLUMNS.map((c) => `@${c}`).join(', ')})`;

function historySql(plan: HistoryPlan): string {
  const conditions = ['session_id = @session'];
  if (plan.before !== undefined) conditions.push('created_at < @before');
  if (plan.after !== undefined) conditions.push('created_at > @after');
  return `select ${COLUMNS} from messages where ${conditions.join(' and ')} order by created_at ${plan.order === 'desc' ? 'desc' : 'asc'} limit @limit`;
}

export class SqliteMessages extends SqlMessages {
  constructor(
    ctx: OpsContext,
    private readonly statements: SqliteStatements,
  ) {
    super(ctx);
  }

  override insertMessage(m: Message): Promise<void> {
    // Outside a transaction, through Kysely: a direct write could land in an open batch.
    if (!this.ctx.inTransaction) return super.insertMessage(m);
    return settled(() => {
      this.statements.get(INSERT).run(messageRow(m));
    });
  }

  override listMessages(sessionId: string, plan: HistoryPlan): Promise<Message[]> {
    if (!this.statements.direct(this.ctx)) return super.listMessages(sessionId, plan);
    const params: Record<string, unknown> = { session: sessionId, limit: plan.fetch };
    if (plan.before !== undefined) params.before = plan.before;
    if (plan.after !== undefined) params.after = plan.after;
    return settled(() => this.statements.rows<MessageRow>(historySql(plan), params).map((row) => toMessage(row, sessionId)));
  }

  override recentMessages(sessionId: string, n: number): Promise<Message[]> {
    if (n <= 0) return Promise.resolve([]);
    if (!this.statements.direct(this.ctx)) return super.recentMessages(sessionId, n);
    const text = `select ${COLUMNS} from messages where session_id = ? order by created_at desc limit ?`;
    return settled(() =>
      this.statements
        .rows<MessageRow>(text, sessionId, n)
        .map((row) => toMessage(row, sessionId))
        .reverse(),
    );
  }
}
