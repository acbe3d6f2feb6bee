/** The scaled store's record kinds: the shared ones, with PostgreSQL's one-statement writes. */
import type pg from 'pg';
import type { OpsContext, PartsFactory } from '../sql/context.js';
import { sharedParts } from '../sql/parts.js';
import { PostgresEvents } from './events.js';
import { PostgresSessions } from './sessions.js';

export function postgresParts(pool: pg.Pool): PartsFactory {
  return (ctx: OpsContext) => ({
    ...sharedParts(ctx, new PostgresSessions(ctx, pool)),
    events: new PostgresEvents(ctx),
  });
}
