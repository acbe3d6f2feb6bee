/** The shared implementation of every record kind, which a dialect's parts start from. */
import { SqlAgents } from './agents.js';
import { SqlApiKeys } from './api-keys.js';
import type { OpsContext, StoreParts } from './context.js';
import { SqlEvents } from './events.js';
import { SqlIdempotency } from './idempotency.js';
import { SqlLifecycle } from './lifecycle.js';
import { SqlMessages } from './messages.js';
import { SqlSessions } from './sessions.js';

export function sharedParts(ctx: OpsContext, sessions: SqlSessions = new SqlSessions(ctx)): StoreParts {
  return {
    agents: new SqlAgents(ctx),
    sessions,
    lifecycle: new SqlLifecycle(ctx, sessions),
    messages: new SqlMessages(ctx),
    events: new SqlEvents(ctx),
    idempotency: new SqlIdempotency(ctx),
    apiKeys: new SqlApiKeys(ctx),
  };
}
