/** Messages on PostgreSQL: the shared implementation, with search looking at the newest messages first. */
import type { Message } from '../../domain/message.js';
import type { OpsContext } from '../sql/context.js';
import { SqlMessages } from '../sql/messages.js';
import { toMessage } from '../sql/rows.js';
import type { MessageSearchQuery } from '../store.js';
import { postgresSearch, type RecentMessages } from './search.js';

export class PostgresMessages extends SqlMessages {
  constructor(
    ctx: OpsContext,
    private readonly recent: RecentMessages,
  ) {
    super(ctx);
  }

  override async searchMessages(q: MessageSearchQuery): Promise<Message[]> {
    const rows = await postgresSearch(this.ctx.db, q, await this.recent.from(this.ctx.db));
    return rows.map((row) => toMessage(row, row.session_id));
  }
}
