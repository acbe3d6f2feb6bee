/**
 * `StoreOps` composed from the record kinds' implementations: each method hands over to the
 * kind it belongs to, so callers keep `store.getSession(…)` while the SQL lives per kind (and,
 * for the hot statements, per dialect).
 */
import type { Kysely } from 'kysely';
import type { Agent } from '../../domain/agent.js';
import type { PendingEvent, SessionEvent } from '../../domain/events.js';
import type { HistoryPlan } from '../../domain/history.js';
import type { Message } from '../../domain/message.js';
import type { LifecycleFlags } from '../../domain/schedule.js';
import type { Session } from '../../domain/session.js';
import type { Database } from '../schema.js';
import type {
  ApiKeyRecord,
  HealthCounts,
  IdempotencyRecord,
  LifecycleEmission,
  LifecycleState,
  MessageSearchQuery,
  SaveOptions,
  SessionChange,
  SessionList,
  SessionListQuery,
  SessionUpdate,
  StoreOps,
} from '../store.js';
import type { OpsContext, StoreParts, StoreShared } from './context.js';

export class SqlOps implements StoreOps {
  readonly ctx: OpsContext;
  readonly agents: StoreParts['agents'];
  readonly sessions: StoreParts['sessions'];
  readonly lifecycle: StoreParts['lifecycle'];
  readonly messages: StoreParts['messages'];
  readonly events: StoreParts['events'];
  readonly idempotency: StoreParts['idempotency'];
  readonly apiKeys: StoreParts['apiKeys'];

  constructor(
    protected readonly shared: StoreShared,
    db: Kysely<Database>,
    inTransaction: boolean,
  ) {
    this.ctx = {
      db,
      dialect: shared.dialect,
      inTransaction,
      sessionCache: shared.sessionCache,
      keyCache: shared.keyCache,
      atomically: <T>(work: (ops: SqlOps) => Promise<T>): Promise<T> => (inTransaction ? work(this) : this.newTransaction(work)),
    };
    ({
      agents: this.agents,
      sessions: this.sessions,
      lifecycle: this.lifecycle,
      messages: this.messages,
      events: this.events,
      idempotency: this.idempotency,
      apiKeys: this.apiKeys,
    } = shared.parts(this.ctx));
  }

  protected newTransaction<T>(work: (ops: SqlOps) => Promise<T>): Promise<T> {
    return this.shared.runTransaction((trx) => work(new SqlOps(this.shared, trx, true)));
  }

  // ---- agents
  insertAgent(agent: Agent): Promise<void> {
    return this.agents.insertAgent(agent);
  }
  getAgent(id: string): Promise<Agent | undefined> {
    return this.agents.getAgent(id);
  }
  listAgents(): Promise<Agent[]> {
    return this.agents.listAgents();
  }
  updateAgent(agent: Agent): Promise<void> {
    return this.agents.updateAgent(agent);
  }
  deleteAgent(id: string): Promise<boolean> {
    return this.agents.deleteAgent(id);
  }
  countAgents(): Promise<number> {
    return this.agents.countAgents();
  }
  activeSessionIdsOfAgent(agentId: string, now: number): Promise<string[]> {
    return this.agents.activeSessionIdsOfAgent(agentId, now);
  }

  // ---- sessions
  insertSession(session: Session, tokenHash?: string, events?: PendingEvent[]): Promise<SessionEvent[]> {
    return this.sessions.insertSession(session, tokenHash, events);
  }
  getSessionByTokenHash(tokenHash: string): Promise<Session | undefined> {
    return this.sessions.getSessionByTokenHash(tokenHash);
  }
  getSession(id: string): Promise<Session | undefined> {
    return this.sessions.getSession(id);
  }
  saveSession(session: Session, events: PendingEvent[], options?: SaveOptions): Promise<SessionEvent[]> {
    return this.sessions.saveSession(session, events, options);
  }
  updateSession(id: string, decide: (current: Session | undefined) => SessionChange): Promise<SessionUpdate> {
    return this.sessions.updateSession(id, decide);
  }
  getSessionByChannel(channelId: string): Promise<Session | undefined> {
    return this.sessions.getSessionByChannel(channelId);
  }
  deleteSession(id: string): Promise<boolean> {
    return this.sessions.deleteSession(id);
  }
  listSessions(query: SessionListQuery): Promise<SessionList> {
    return this.sessions.listSessions(query);
  }
  healthCounts(now: number): Promise<HealthCounts> {
    return this.sessions.healthCounts(now);
  }

  // ---- lifecycle
  getLifecycle(id: string): Promise<LifecycleState | undefined> {
    return this.lifecycle.getLifecycle(id);
  }
  setLifecycleFlags(id: string, flags: LifecycleFlags): Promise<void> {
    return this.lifecycle.setLifecycleFlags(id, flags);
  }
  dueLifecycle(now: number, limit: number): Promise<LifecycleState[]> {
    return this.lifecycle.dueLifecycle(now, limit);
  }
  emitLifecycle(emissions: LifecycleEmission[]): Promise<SessionEvent[]> {
    return this.lifecycle.emitLifecycle(emissions);
  }
  nextLifecycleMoment(): Promise<number | undefined> {
    return this.lifecycle.nextLifecycleMoment();
  }

  // ---- messages
  insertMessage(message: Message): Promise<void> {
    return this.messages.insertMessage(message);
  }
  getMessage(id: string): Promise<Message | undefined> {
    return this.messages.getMessage(id);
  }
  findReplyTo(messageId: string): Promise<Message | undefined> {
    return this.messages.findReplyTo(messageId);
  }
  listMessages(sessionId: string, plan: HistoryPlan): Promise<Message[]> {
    return this.messages.listMessages(sessionId, plan);
  }
  recentMessages(sessionId: string, count: number): Promise<Message[]> {
    return this.messages.recentMessages(sessionId, count);
  }
  searchMessages(query: MessageSearchQuery): Promise<Message[]> {
    return this.messages.searchMessages(query);
  }

  // ---- events
  appendEvents(sessionId: string, events: PendingEvent[]): Promise<SessionEvent[]> {
    return this.events.appendEvents(sessionId, events);
  }
  eventsAfter(sessionId: string, afterSeq: number, limit: number): Promise<SessionEvent[]> {
    return this.events.eventsAfter(sessionId, afterSeq, limit);
  }
  lastEventSeq(sessionId: string): Promise<number> {
    return this.events.lastEventSeq(sessionId);
  }

  // ---- idempotency
  getIdempotencyRecord(sessionId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.idempotency.getIdempotencyRecord(sessionId, key);
  }
  insertIdempotencyRecord(record: IdempotencyRecord): Promise<void> {
    return this.idempotency.insertIdempotencyRecord(record);
  }
  completeIdempotencyRecord(sessionId: string, key: string): Promise<void> {
    return this.idempotency.completeIdempotencyRecord(sessionId, key);
  }

  // ---- api keys
  insertApiKey(key: ApiKeyRecord): Promise<void> {
    return this.apiKeys.insertApiKey(key);
  }
  insertFirstApiKey(key: ApiKeyRecord): Promise<boolean> {
    return this.apiKeys.insertFirstApiKey(key);
  }
  getApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return this.apiKeys.getApiKeyByHash(keyHash);
  }
  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.apiKeys.getApiKey(id);
  }
  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.apiKeys.listApiKeys();
  }
  deleteApiKey(id: string): Promise<boolean> {
    return this.apiKeys.deleteApiKey(id);
  }
  touchApiKey(id: string, at: number): Promise<void> {
    return this.apiKeys.touchApiKey(id, at);
  }
}
