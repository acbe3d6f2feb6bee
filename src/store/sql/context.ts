/**
 * What every record kind's implementation works with: the database (the store's, or the
 * transaction it runs in), its dialect, the caches of the store, and a way to run work
 * atomically with every kind's operations at hand.
 */
import type { Kysely } from 'kysely';
import type { ApiKeyCache } from '../key-cache.js';
import type { Database } from '../schema.js';
import type { SessionCache } from '../session-cache.js';
import type { SqlAgents } from './agents.js';
import type { SqlApiKeys } from './api-keys.js';
import type { SqlEvents } from './events.js';
import type { SqlIdempotency } from './idempotency.js';
import type { SqlLifecycle } from './lifecycle.js';
import type { SqlMessages } from './messages.js';
import type { SqlOps } from './ops.js';
import type { Dialect } from './rows.js';
import type { SqlSessions } from './sessions.js';

export interface OpsContext {
  /** The store's database, or the transaction these operations run in. */
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** True inside a transaction of the store (`db` is then that transaction's). */
  readonly inTransaction: boolean;
  /** Embedded mode only; shared by the store and its transactions. */
  readonly sessionCache?: SessionCache;
  /** Shared by the store and its transactions. */
  readonly keyCache?: ApiKeyCache;
  /** Runs `work` atomically: in the current transaction, or in a new one. */
  atomically<T>(work: (ops: SqlOps) => Promise<T>): Promise<T>;
}

/** One implementation per record kind; a dialect may replace any with its own subclass. */
export interface StoreParts {
  agents: SqlAgents;
  sessions: SqlSessions;
  lifecycle: SqlLifecycle;
  messages: SqlMessages;
  events: SqlEvents;
  idempotency: SqlIdempotency;
  apiKeys: SqlApiKeys;
}

export type PartsFactory = (ctx: OpsContext) => StoreParts;

/** What a store and all its transactions share. */
export interface StoreShared {
  readonly dialect: Dialect;
  readonly sessionCache?: SessionCache;
  readonly keyCache?: ApiKeyCache;
  readonly parts: PartsFactory;
  /** Runs `work` in a new transaction (embedded: a group commit; scaled: a pooled connection's). */
  runTransaction<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
}
