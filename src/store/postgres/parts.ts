/** The scaled store's record kinds: the shared ones, with PostgreSQL's one-statement writes. */
import type pg from 'pg';
import type { OpsContext, PartsFactory } from '../sql/context.js';
import { sharedParts } from '../sql/parts.js';
import { PostgresEvents } from './events.js';
import { PostgresLifecycle } from './lifecycle.js';
import { PostgresMessages } from './messages.js';
import { PreparedNames } from './prepared-names.js';
import { RecentMessages } from './search.js';
import { SessionTurns } from './session-turns.js';
import { PostgresSessions, type OptimisticWrites } from './sessions.js';
import { WriteBases } from './write-bases.js';

export function postgresParts(pool: pg.Pool): PartsFactory {
  // One per store, shared by its transactions: what the instance last saw of each session.
  const optimistic: OptimisticWrites = { bases: new WriteBases(), turns: new SessionTurns(), names: new PreparedNames('session_write') };
  const listReads = new PreparedNames('list_read');
  const recentMessages = new RecentMessages();
  return (ctx: OpsContext) => {
    const sessions = new PostgresSessions(ctx, pool, optimistic, listReads);
    return {
      ...sharedParts(ctx, sessions),
      lifecycle: new PostgresLifecycle(ctx, sessions),
      messages: new PostgresMessages(ctx, recentMessages),
      events: new PostgresEvents(ctx, optimistic.bases),
    };
  };
}
