/**
 * Table shapes as Kysely sees them. Times are epoch milliseconds (bigint), JSON is text and
 * booleans are 0/1 integers, so that one set of queries serves SQLite and PostgreSQL alike.
 */
import type { Generated } from 'kysely';

export interface SessionsTable {
  id: string;
  channel_id: string;
  agent_id: string;
  user_id: string;
  metadata: string;
  timeout_minutes: number;
  auto_renew: number;
  max_duration_minutes: number;
  warning_threshold_minutes: number;
  created_at: number;
  last_activity: number;
  last_renewal: number;
  expires_at: number;
  renewal_count: number;
  last_message_at: number | null;
  /** The sequence number of the session's newest event. */
  event_seq: Generated<number>;
  /** `expires_at` minus the warning threshold: when the warning falls due. */
  warning_at: number;
  /** 1 once the warning of the current window has been emitted; 0 re-arms it. */
  warned: Generated<number>;
  /** 1 once `session.expired` has been emitted. */
  expiry_emitted: Generated<number>;
  /** SHA-256 of the session token handed out at create; null for sessions made without one. */
  token_hash: string | null;
  /** `enqueue`, `reject` or `interrupt` (SPEC §10). */
  reply_policy: Generated<string>;
  /** Moved by every write of the row: the check of PostgreSQL's optimistic writes (migration 009). */
  version: Generated<number>;
}

export interface MessagesTable {
  id: string;
  session_id: string;
  content: string;
  author_id: string;
  is_agent: number;
  created_at: number;
  metadata: string;
  attachments: string;
  in_reply_to: string | null;
  /** The content folded for search (domain/search.ts); indexed by trigrams (migration 006). */
  search_text: string | null;
}

export interface AgentsTable {
  id: string;
  name: string;
  system: string;
  provider: string;
  session_defaults: string;
  metadata: string;
  created_at: number;
  updated_at: number;
}

export interface EventsTable {
  session_id: string;
  seq: number;
  type: string;
  at: number;
  data: string;
}

interface IdempotencyKeysTable {
  session_id: string;
  key: string;
  request_hash: string;
  message_id: string;
  /** 0 while the first request is still being answered, 1 once it has been. */
  completed: number;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  /** JSON array of scopes. */
  scopes: string;
  /** SHA-256 of the key; the key itself is never stored. */
  key_hash: string;
  /** The first characters of the key, to tell keys apart in listings. */
  prefix: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

/**
 * Counters per scope (`''`: every session; `agent:<id>`: one agent's), in shards that are added
 * up: how many sessions exist, and how many of them have not had their expiry processed.
 */
interface SessionCountsTable {
  scope: string;
  shard: number;
  sessions: number;
  unexpired: number;
}

export interface WebhooksTable {
  id: string;
  url: string;
  /** JSON array of event types, or `["*"]`. */
  events: string;
  agent_id: string | null;
  secret_env: string | null;
  description: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

/** The outbox: one row per stored event and matching webhook, with the event in it. */
export interface WebhookDeliveriesTable {
  webhook_id: string;
  session_id: string;
  seq: number;
  type: string;
  at: number;
  data: string;
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number;
  lease_until: number | null;
  lease_id: string | null;
  delivered_at: number | null;
  created_at: number;
}

export interface Database {
  sessions: SessionsTable;
  messages: MessagesTable;
  agents: AgentsTable;
  events: EventsTable;
  idempotency_keys: IdempotencyKeysTable;
  api_keys: ApiKeysTable;
  session_counts: SessionCountsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
}
