/** The scaled store's record kinds: the shared ones, with PostgreSQL's one-statement writes. */
import type pg from 'pg';
import type { OpsContext, PartsFactory } from '../sql/context.js';
import { sharedParts } from '../sql/parts.js';
import { PostgresEvents } from './events.js';
import { PostgresLifecycle } from './lifecycle.js';
import { PostgresSessions } from './sessions.js';

export function postgresParts(pool: pg.Pool): PartsFactory {
  return (ctx: OpsContext) => {
    const sessions = new PostgresSessions(ctx, pool);
    return {
      ...sharedParts(ctx, sessions),
      lifecycle: new PostgresLifecycle(ctx, sessions),
      events: new PostgresEvents(ctx),
    };
  };
}
