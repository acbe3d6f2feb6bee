/** Rows to records and back, the same for both dialects. */
import { sql, type Selectable } from 'kysely';
import type { Scope } from '../../auth/scopes.js';
import type { Agent, ProviderConfig } from '../../domain/agent.js';
import type { PendingEvent, SessionEvent, SessionEventType } from '../../domain/events.js';
import type { JsonObject } from '../../domain/json.js';
import type { Attachment, Message } from '../../domain/message.js';
import { warningStartsAt, type Session } from '../../domain/session.js';
import { requireInstant } from '../../domain/validation.js';
import type { AgentsTable, ApiKeysTable, EventsTable, MessagesTable, SessionsTable } from '../schema.js';
import type { ApiKeyRecord } from '../store.js';
import { isoInstant } from '../../domain/instant.js';

export type Dialect = 'sqlite' | 'postgres';

/** Most sessions and messages have neither metadata nor attachments: no parse for those. */
const parseObject = (text: string): JsonObject => (text === '{}' ? {} : (JSON.parse(text) as JsonObject));
const parseAttachments = (text: string): Attachment[] => (text === '[]' ? [] : (JSON.parse(text) as Attachment[]));

export const toSession = (row: Selectable<SessionsTable>): Session => ({
  id: row.id,
  channelId: row.channel_id,
  agentId: row.agent_id,
  userId: row.user_id,
  metadata: parseObject(row.metadata),
  config: {
    timeoutMinutes: row.timeout_minutes,
    autoRenew: row.auto_renew === 1,
    maxDurationMinutes: row.max_duration_minutes,
    warningThresholdMinutes: row.warning_threshold_minutes,
  },
  replyPolicy: row.reply_policy as Session['replyPolicy'],
  createdAt: Number(row.created_at),
  lastActivity: Number(row.last_activity),
  lastRenewal: Number(row.last_renewal),
  expiresAt: Number(row.expires_at),
  renewalCount: row.renewal_count,
  lastMessageAt: row.last_message_at === null ? null : Number(row.last_message_at),
});

/**
 * The columns a session's life changes. Who it belongs to and its metadata are written once, at
 * insert: leaving them out of every save keeps SQLite from rewriting the agent and user indexes
 * (and the metadata text) on each heartbeat.
 */
export const sessionStateColumns = (s: Session) => ({
  timeout_minutes: s.config.timeoutMinutes,
  auto_renew: s.config.autoRenew ? 1 : 0,
  max_duration_minutes: s.config.maxDurationMinutes,
  warning_threshold_minutes: s.config.warningThresholdMinutes,
  last_activity: s.lastActivity,
  last_renewal: s.lastRenewal,
  expires_at: requireInstant(s.expiresAt, 'expiresAt'),
  renewal_count: s.renewalCount,
  last_message_at: s.lastMessageAt,
  warning_at: warningStartsAt(s),
});

/** The keys of `sessionStateColumns`, in order: for statements written as SQL text. */
export const STATE_COLUMNS = [
  'timeout_minutes',
  'auto_renew',
  'max_duration_minutes',
  'warning_threshold_minutes',
  'last_activity',
  'last_renewal',
  'expires_at',
  'renewal_count',
  'last_message_at',
  'warning_at',
] as const satisfies ReadonlyArray<keyof ReturnType<typeof sessionStateColumns>>;

/** The row of a new session. */
export const sessionRow = (session: Session, tokenHash: string | undefined, eventCount: number) => ({
  id: session.id,
  event_seq: eventCount,
  channel_id: session.channelId,
  created_at: session.createdAt,
  token_hash: tokenHash ?? null,
  agent_id: session.agentId,
  user_id: session.userId,
  metadata: JSON.stringify(session.metadata),
  reply_policy: session.replyPolicy,
  ...sessionStateColumns(session),
});

export type MessageRow = Omit<Selectable<MessagesTable>, 'session_id' | 'search_text'>;

export const toMessage = (row: MessageRow, sessionId: string): Message => ({
  id: row.id,
  sessionId,
  content: row.content,
  authorId: row.author_id,
  isAgent: row.is_agent === 1,
  createdAt: Number(row.created_at),
  metadata: parseObject(row.metadata),
  attachments: parseAttachments(row.attachments),
  inReplyTo: row.in_reply_to,
});

/** The columns of a message but its session's id, which the queries of one session know. */
/**
 * Every column of `sessions`, named: statements PostgreSQL keeps prepared on a connection must not
 * say `select *`, since a column added by a later migration (a rolling deploy: new instances
 * migrate while old ones still run) would change their result type, and PostgreSQL then refuses
 * to run them ("cached plan must not change result type").
 */
const SESSION_COLUMN_SET: Record<keyof SessionsTable, true> = {
  id: true,
  channel_id: true,
  agent_id: true,
  user_id: true,
  metadata: true,
  timeout_minutes: true,
  auto_renew: true,
  max_duration_minutes: true,
  warning_threshold_minutes: true,
  created_at: true,
  last_activity: true,
  last_renewal: true,
  expires_at: true,
  renewal_count: true,
  last_message_at: true,
  event_seq: true,
  warning_at: true,
  warned: true,
  expiry_emitted: true,
  token_hash: true,
  reply_policy: true,
  version: true,
};
export const SESSION_COLUMNS = Object.keys(SESSION_COLUMN_SET) as Array<keyof SessionsTable>;

export const MESSAGE_COLUMNS = ['id', 'content', 'author_id', 'is_agent', 'created_at', 'metadata', 'attachments', 'in_reply_to'] as const;

/** A message row as search reads it: every column but the folded search text. */
export type SearchRow = Omit<MessagesTable, 'search_text'>;
/** The columns of `SearchRow`, of messages aliased `m`. */
export const SEARCH_COLUMNS = sql`m.id, m.session_id, m.content, m.author_id, m.is_agent, m.created_at, m.metadata, m.attachments, m.in_reply_to`;

export const toAgent = (row: Selectable<AgentsTable>): Agent => ({
  id: row.id,
  name: row.name,
  system: row.system,
  provider: JSON.parse(row.provider) as ProviderConfig,
  sessionDefaults: JSON.parse(row.session_defaults) as Agent['sessionDefaults'],
  metadata: JSON.parse(row.metadata) as Agent['metadata'],
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

export const agentColumns = (a: Agent) => ({
  name: a.name,
  system: a.system,
  provider: JSON.stringify(a.provider),
  session_defaults: JSON.stringify(a.sessionDefaults),
  metadata: JSON.stringify(a.metadata),
  updated_at: a.updatedAt,
});

export const count = (value: unknown): number => Number(value ?? 0);

export const toApiKey = (row: Selectable<ApiKeysTable>): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  scopes: JSON.parse(row.scopes) as Scope[],
  keyHash: row.key_hash,
  prefix: row.prefix,
  createdAt: Number(row.created_at),
  expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
});

export const apiKeyColumns = (k: ApiKeyRecord) => ({
  id: k.id,
  name: k.name,
  scopes: JSON.stringify(k.scopes),
  key_hash: k.keyHash,
  prefix: k.prefix,
  created_at: requireInstant(k.createdAt, 'createdAt'),
  expires_at: k.expiresAt === null ? null : requireInstant(k.expiresAt, 'expiresAt'),
  last_used_at: k.lastUsedAt,
});

/** The events as stored and answered: numbered from `firstSeq`. */
export const numbered = (sessionId: string, firstSeq: number, events: PendingEvent[]): SessionEvent[] =>
  events.map((e, i) => ({ type: e.type, sessionId, seq: firstSeq + i, at: isoInstant(e.at), data: e.data }));

export const eventRows = (stored: SessionEvent[], events: PendingEvent[]) =>
  stored.map((e, i) => ({ session_id: e.sessionId, seq: e.seq, type: e.type, at: events[i]!.at, data: JSON.stringify(e.data) }));

export const toEvent = (r: Selectable<EventsTable>): SessionEvent => ({
  type: r.type as SessionEventType,
  sessionId: r.session_id,
  seq: Number(r.seq),
  at: isoInstant(Number(r.at)),
  data: JSON.parse(r.data) as SessionEvent['data'],
});

/** `insert into events … returning` the columns the outbox selects from (PostgreSQL CTEs). */
export const eventsInsert = (stored: SessionEvent[], events: PendingEvent[]) => {
  const values = eventRows(stored, events).map((r) => sql`(${r.session_id}, ${r.seq}, ${r.type}, ${r.at}, ${r.data})`);
  return sql`insert into events (session_id, seq, type, at, data) values ${sql.join(values)}
    returning session_id, seq, type, at, data`;
};
