/** The embedded store's record kinds: the shared ones, with SQLite's hot statements where it matters. */
import type { OpsContext, PartsFactory } from '../sql/context.js';
import { sharedParts } from '../sql/parts.js';
import { SqliteAgents } from './agents.js';
import { SqliteEvents } from './events.js';
import { SqliteMessages } from './messages.js';
import { SqliteSessions } from './sessions.js';
import type { SqliteStatements } from './statements.js';

export function sqliteParts(statements: SqliteStatements): PartsFactory {
  return (ctx: OpsContext) => ({
    ...sharedParts(ctx, new SqliteSessions(ctx, statements)),
    messages: new SqliteMessages(ctx, statements),
    events: new SqliteEvents(ctx, statements),
    agents: new SqliteAgents(ctx, statements),
  });
}
