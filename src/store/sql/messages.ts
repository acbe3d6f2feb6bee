/** Messages over Kysely, the same SQL for both dialects but search: SQLite's here (search.ts), PostgreSQL's in postgres/messages.ts. */
import type { HistoryPlan } from '../../domain/history.js';
import type { Message } from '../../domain/message.js';
import { foldForSearch } from '../../domain/search.js';
import { sqliteSearch } from '../search.js';
import type { MessageSearchQuery, MessageStore } from '../store.js';
import type { OpsContext } from './context.js';
import { MESSAGE_COLUMNS, toMessage } from './rows.js';

/** A message's row. */
export const messageRow = (m: Message) => ({
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
});

export class SqlMessages implements MessageStore {
  constructor(protected readonly ctx: OpsContext) {}

  async insertMessage(m: Message): Promise<void> {
    await this.ctx.db.insertInto('messages').values(messageRow(m)).execute();
  }

  /** SQLite's search; the PostgreSQL store replaces it (postgres/messages.ts). */
  async searchMessages(q: MessageSearchQuery): Promise<Message[]> {
    const rows = await sqliteSearch(this.ctx.db, q);
    return rows.map((row) => toMessage(row, row.session_id));
  }

  async getMessage(id: string): Promise<Message | undefined> {
    const row = await this.ctx.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toMessage(row, row.session_id);
  }

  async findReplyTo(messageId: string): Promise<Message | undefined> {
    const row = await this.ctx.db
      .selectFrom('messages')
      .selectAll()
      .where('in_reply_to', '=', messageId)
      .orderBy('created_at')
      .executeTakeFirst();
    return row && toMessage(row, row.session_id);
  }

  async listMessages(sessionId: string, plan: HistoryPlan): Promise<Message[]> {
    let query = this.ctx.db.selectFrom('messages').select(MESSAGE_COLUMNS).where('session_id', '=', sessionId);
    if (plan.before !== undefined) query = query.where('created_at', '<', plan.before);
    if (plan.after !== undefined) query = query.where('created_at', '>', plan.after);
    const rows = await query.orderBy('created_at', plan.order).limit(plan.fetch).execute();
    return rows.map((row) => toMessage(row, sessionId));
  }

  async recentMessages(sessionId: string, n: number): Promise<Message[]> {
    if (n <= 0) return [];
    const rows = await this.ctx.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('session_id', '=', sessionId)
      .orderBy('created_at', 'desc')
      .limit(n)
      .execute();
    return rows.map((row) => toMessage(row, sessionId)).reverse();
  }
}
