/**
 * The one storage interface the rest of the code sees, one interface per record kind composed
 * into `StoreOps` (what a transaction offers) and `Store`. `SqlStore` implements it for SQLite
 * and PostgreSQL (sql/ shared, sqlite/ and postgres/ per dialect); the contract suite in
 * test/store runs the same cases on both.
 */
import type { Scope } from '../auth/scopes.js';
import type { Agent } from '../domain/agent.js';
import type { PendingEvent, SessionEvent } from '../domain/events.js';
import type { HistoryPlan } from '../domain/history.js';
import type { Keyset } from '../domain/keyset.js';
import type { MetadataFilter } from '../domain/list-filters.js';
import type { Message } from '../domain/message.js';
import type { LifecycleFlags } from '../domain/schedule.js';
import type { Session } from '../domain/session.js';
import type { DeliveryStore, WebhookStore } from './webhooks.js';

export type { AttemptOutcome, AttemptRecord, ClaimedDelivery, Settlement } from './webhooks.js';

type SessionStatusFilter = 'active' | 'expired' | 'all';

export interface SessionListQuery {
  agentId?: string;
  userId?: string;
  status: SessionStatusFilter;
  limit: number;
  offset: number;
  now: number;
  /** Sessions past expiry by at least this long are purged, so never listed. */
  retentionMs: number;
  /** Top-level metadata values that must all hold (SPEC §12). */
  metadata?: MetadataFilter[];
  /** Keyset paging: only sessions after this one in the newest-first order. */
  after?: Keyset;
}

export interface MessageSearchQuery {
  /** Folded words (domain/search.ts), each of which the content must contain. */
  words: string[];
  agentId?: string;
  userId?: string;
  sessionId?: string;
  limit: number;
  /** Only messages after this one in the newest-first order. */
  after?: Keyset;
  now: number;
  retentionMs: number;
}

export interface SessionList {
  sessions: Session[];
  total: number;
  stats: { totalSessions: number; activeSessions: number; expiredSessions: number };
}

export interface HealthCounts {
  activeSessions: number;
  expiringSoon: number;
  invalidSessions: number;
}

export interface IdempotencyRecord {
  sessionId: string;
  key: string;
  requestHash: string;
  messageId: string;
  completed: boolean;
  createdAt: number;
}

/** An API key as stored: its digest and display prefix, never the key. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  keyHash: string;
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
}

/** Agents (SPEC §9). */
export interface AgentStore {
  insertAgent(agent: Agent): Promise<void>;
  getAgent(id: string): Promise<Agent | undefined>;
  listAgents(): Promise<Agent[]>;
  updateAgent(agent: Agent): Promise<void>;
  deleteAgent(id: string): Promise<boolean>;
  countAgents(): Promise<number>;
  activeSessionIdsOfAgent(agentId: string, now: number): Promise<string[]>;
}

/**
 * How a save writes: `rearmWarning` clears the warned flag (the change took the session out of
 * its warning window); `settings` also writes its metadata and reply policy (PATCH of the session).
 */
export interface SaveOptions {
  rearmWarning?: boolean;
  settings?: boolean;
}

/** What a decision on a session's stored state writes: the new state, its events, how. */
export interface SessionChange {
  next: Session;
  events: PendingEvent[];
  options?: SaveOptions;
}

/** What a read-decide-write stored: the new state, and its events as numbered. */
export interface SessionUpdate {
  session: Session;
  events: SessionEvent[];
}

/** Session rows: their life, the list and its counters. */
export interface SessionStore {
  /**
   * `tokenHash`: the digest of the session token handed out at create (never the token).
   * `events` (`session.created`) are stored with it as the session's first, numbered from 1.
   */
  insertSession(session: Session, tokenHash?: string, events?: PendingEvent[]): Promise<SessionEvent[]>;
  /** The session whose token has this digest, if it still exists. */
  getSessionByTokenHash(tokenHash: string): Promise<Session | undefined>;
  /** Reads a session; inside a transaction it also locks the row until commit (PostgreSQL). */
  getSession(id: string): Promise<Session | undefined>;
  /**
   * Writes a session's new lifecycle state (timeout configuration, activity, renewals, expiry;
   * its agent and user are fixed at creation and not written) and stores the events
   * the change causes, numbered after the
   * session's last event (nothing when the session is gone). See `SaveOptions`.
   */
  saveSession(session: Session, events: PendingEvent[], options?: SaveOptions): Promise<SessionEvent[]>;
  /**
   * Read, decide, write, atomically: `decide` gets the session as stored (undefined when there
   * is none) and either throws (nothing is written; the error is the caller's) or answers the
   * change, which is saved as `saveSession` saves it. A change decided for a missing session
   * writes nothing. `decide` must be pure: it may be called more than once (PostgreSQL writes
   * optimistically on the state the instance last saw, and decides again on the stored state
   * when that was out of date), and only the change of its last call is stored.
   */
  updateSession(id: string, decide: (current: Session | undefined) => SessionChange): Promise<SessionUpdate>;
  getSessionByChannel(channelId: string): Promise<Session | undefined>;
  /** Deletes the session with its messages, events and idempotency keys. */
  deleteSession(id: string): Promise<boolean>;
  listSessions(query: SessionListQuery): Promise<SessionList>;
  healthCounts(now: number): Promise<HealthCounts>;
}

/** A session as the scheduler reads it: its state and its lifecycle flags. */
export interface LifecycleState {
  session: Session;
  flags: LifecycleFlags;
}

/** What the scheduler stores for one session: the events due, and the flags they set. */
export interface LifecycleEmission {
  sessionId: string;
  events: PendingEvent[];
  /** The flags as read; nothing is stored for a session whose flags are no longer these. */
  before: LifecycleFlags;
  after: LifecycleFlags;
}

/** The scheduler's view of sessions: warning and expiry flags, what is due. */
export interface LifecycleStore {
  /** The session with its lifecycle flags; locks the row inside a transaction (PostgreSQL). */
  getLifecycle(id: string): Promise<LifecycleState | undefined>;
  setLifecycleFlags(id: string, flags: LifecycleFlags): Promise<void>;
  /**
   * The sessions whose warning or whose expiry is due at `now` and not yet emitted (up to
   * `limit` of each, the earliest first; a session due for both once), with their flags. Inside a
   * transaction the rows stay locked until it ends; on PostgreSQL a row another transaction
   * holds is skipped (`SKIP LOCKED`): another instance is emitting it, or a request is changing
   * it, and the next look finds it again if it is still due.
   */
  dueLifecycle(now: number, limit: number): Promise<LifecycleState[]>;
  /**
   * Stores the events of each emission (one per session), numbered after its session's last
   * event, and sets its flags `after`, in a few statements for the whole batch; the counters
   * move once for the batch, by what the flags changed. A session that is gone, or whose flags
   * are no longer `before`, gets nothing. Returns the events stored.
   */
  emitLifecycle(emissions: LifecycleEmission[]): Promise<SessionEvent[]>;
  /** The earliest pending warning or expiry moment, if any. */
  nextLifecycleMoment(): Promise<number | undefined>;
}

export interface MessageStore {
  insertMessage(message: Message): Promise<void>;
  getMessage(id: string): Promise<Message | undefined>;
  findReplyTo(messageId: string): Promise<Message | undefined>;
  listMessages(sessionId: string, plan: HistoryPlan): Promise<Message[]>;
  /** The newest `count` messages, oldest first: the context an agent replies from. */
  recentMessages(sessionId: string, count: number): Promise<Message[]>;
  /** Messages containing every word, newest first (`createdAt`, then id), of sessions not purged. */
  searchMessages(query: MessageSearchQuery): Promise<Message[]>;
}

/** A session's numbered event log. */
export interface EventStore {
  /** Gives the events the session's next sequence numbers and stores them. */
  appendEvents(sessionId: string, events: PendingEvent[]): Promise<SessionEvent[]>;
  eventsAfter(sessionId: string, afterSeq: number, limit: number): Promise<SessionEvent[]>;
  /** The sequence number of the session's newest event (0 when none, or no such session). */
  lastEventSeq(sessionId: string): Promise<number>;
}

/** Idempotency-Key records of sends (SPEC §5). */
export interface IdempotencyStore {
  getIdempotencyRecord(sessionId: string, key: string): Promise<IdempotencyRecord | undefined>;
  insertIdempotencyRecord(record: IdempotencyRecord): Promise<void>;
  completeIdempotencyRecord(sessionId: string, key: string): Promise<void>;
}

export interface ApiKeyStore {
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  /** Inserts `key` only while no key at all is stored; true when it did. Safe to race. */
  insertFirstApiKey(key: ApiKeyRecord): Promise<boolean>;
  getApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Oldest first. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  deleteApiKey(id: string): Promise<boolean>;
  touchApiKey(id: string, at: number): Promise<void>;
}

/** Operations available both directly and inside a transaction: every record kind's. */
export interface StoreOps extends AgentStore, SessionStore, LifecycleStore, MessageStore, EventStore, IdempotencyStore, ApiKeyStore {}

export interface Store extends StoreOps {
  readonly dialect: 'sqlite' | 'postgres';
  /** Webhooks (SPEC §11) and their deliveries, which the event writes above queue. */
  readonly webhooks: WebhookStore;
  readonly deliveries: DeliveryStore;
  /** Runs `work` in one transaction: everything it writes commits together or not at all. */
  transaction<T>(work: (tx: StoreOps) => Promise<T>): Promise<T>;
  migrate(): Promise<string[]>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /** Deletes up to `batchSize` sessions with `expiresAt <= cutoff`, with everything they own. */
  purgeExpired(cutoff: number, batchSize: number): Promise<number>;
  /** Forgets idempotency keys created before `cutoff`. */
  purgeIdempotencyKeys(cutoff: number): Promise<number>;
  /**
   * Bulk load (benchmarks, imports): stores sessions with their lifecycle flags and no events,
   * and moves the counters once per batch, in transactions of a few thousand rows.
   */
  importSessions(sessions: Array<{ session: Session; flags: LifecycleFlags }>): Promise<void>;
  close(): Promise<void>;
}
