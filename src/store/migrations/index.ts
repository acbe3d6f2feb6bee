import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './001-initial.js';
import * as auth from './002-auth.js';
import * as sessionCounts from './003-session-counts.js';
import * as replyPolicy from './004-reply-policy.js';
import * as webhooks from './005-webhooks.js';
import * as search from './006-search.js';
import * as sessionIndexes from './007-session-indexes.js';
import * as searchOrder from './008-search-order.js';
import * as sessionVersion from './009-session-version.js';
import * as messageTime from './010-message-time.js';

/** Migrations in order; compiled in, so nothing is read from disk at start-up. */
const MIGRATIONS: Record<string, Migration> = {
  '001-initial': initial,
  '002-auth': auth,
  '003-session-counts': sessionCounts,
  '004-reply-policy': replyPolicy,
  '005-webhooks': webhooks,
  '006-search': search,
  '007-session-indexes': sessionIndexes,
  '008-search-order': searchOrder,
  '009-session-version': sessionVersion,
  '010-message-time': messageTime,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
