/**
 * The sessions use cases: each loads what it needs in one transaction, lets the pure domain
 * decide, stores the new state together with the events it causes, and publishes those events
 * once committed. Routes call these and only translate.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AppError, agentNotFound, sessionNotFound } from '../domain/errors.js';
import type { PendingEvent, SessionEvent } from '../domain/events.js';
import { planHistory, shapeHistoryPage, type HistoryPage, type HistoryQuery } from '../domain/history.js';
import type { JsonObject } from '../domain/json.js';
import { encodeCursor } from '../domain/keyset.js';
import { toMessageView, type Attachment, type Message } from '../domain/message.js';
import {
  applyTimeoutPatch,
  assertActive,
  createSession,
  isPastRetention,
  nextMessageTime,
  recordActivity,
  renewManually,
  resolveTimeoutConfig,
  toSessionInfo,
  type Session,
  type TimeoutConfig,
  type TimeoutConfigPatch,
} from '../domain/session.js';
import { rearmsWarning } from '../domain/schedule.js';
import { isUuid } from '../domain/validation.js';
import type { Fanout } from '../realtime/fanout.js';
import type { SessionList, SessionListQuery, Store, StoreOps } from '../store/store.js';

export interface SessionsSettings {
  sessionDefaults: TimeoutConfig;
  retentionMs: number;
}

export interface CreateSessionInput {
  agentId: string;
  userId: string;
  metadata: JsonObject;
  timeoutConfig?: TimeoutConfigPatch;
  /** Digest of the session token the caller hands out (src/auth/credentials.ts). */
  tokenHash?: string;
}

export type Transport = 'websocket' | 'http' | 'sse';

export interface SendMessageInput {
  content: string;
  attachments: Attachment[];
  metadata: JsonObject;
  transport: Transport;
  idempotencyKey?: string;
  /** A digest of the request body, to tell a retry from a different request with the same key. */
  requestHash: string;
}

export interface SentMessage {
  message: Message;
  session: Session;
  wasRenewed: boolean;
  /** Set when this answers a retry: the reply stored for the first request, if any yet. */
  replay?: { reply: Message | undefined };
}

export const hashRequest = (body: unknown): string =>
  createHash('sha256').update(JSON.stringify(body ?? null)).digest('base64url');

export class SessionService {
  constructor(
    private readonly store: Store,
    private readonly fanout: Fanout,
    private readonly clock: Clock,
    private readonly settings: SessionsSettings,
  ) {}

  now(): number {
    return this.clock.now();
  }

  async create(input: CreateSessionInput): Promise<Session> {
    const agent = await this.store.getAgent(input.agentId);
    if (!agent) throw agentNotFound(input.agentId);
    const config = resolveTimeoutConfig(this.settings.sessionDefaults, agent.sessionDefaults, input.timeoutConfig);
    const session = createSession(
      { id: randomUUID(), channelId: randomUUID(), agentId: agent.id, userId: input.userId, metadata: input.metadata, config },
      this.clock.now(),
    );
    await this.store.insertSession(session, input.tokenHash);
    return session;
  }

  /** A session that exists (not purged, not past retention); expired ones included. */
  async find(id: string, ops: StoreOps = this.store): Promise<Session> {
    const session = isUuid(id) ? await ops.getSession(id) : undefined;
    if (!session || isPastRetention(session, this.clock.now(), this.settings.retentionMs)) throw sessionNotFound(id);
    return session;
  }

  /** A session that exists and has not expired (410 otherwise). */
  async findActive(id: string): Promise<Session> {
    const session = await this.find(id);
    assertActive(session, this.clock.now());
    return session;
  }

  /**
   * A page of the list and the cursor of the next one (null on the last page): one row more than
   * the page is read, to know whether another page follows.
   */
  async list(query: Omit<SessionListQuery, 'now' | 'retentionMs'>): Promise<SessionList & { nextCursor: string | null }> {
    const list = await this.store.listSessions({ ...query, limit: query.limit + 1, now: this.clock.now(), retentionMs: this.settings.retentionMs });
    const more = list.sessions.length > query.limit;
    const sessions = more ? list.sessions.slice(0, query.limit) : list.sessions;
    const last = sessions[sessions.length - 1];
    return { ...list, sessions, nextCursor: more && last ? encodeCursor('s', { createdAt: last.createdAt, id: last.id }) : null };
  }

  async delete(id: string): Promise<void> {
    const events = await this.store.transaction(async (tx) => {
      const session = await this.find(id, tx);
      const ended = await tx.appendEvents(session.id, [this.sessionEvent('session.ended', session)]);
      await tx.deleteSession(session.id);
      return ended;
    });
    // Replies in flight, on any instance, stop when session.ended reaches them (Replies).
    this.fanout.publish(events);
  }

  heartbeat(id: string): Promise<Session> {
    return this.mutate(id, (session, now) => {
      const { session: next, wasRenewed } = recordActivity(session, now);
      return { next, events: wasRenewed ? [this.sessionEvent('session.renewed', next)] : [] };
    });
  }

  renew(id: string): Promise<Session> {
    return this.mutate(id, (session, now) => {
      const next = renewManually(session, now);
      return { next, events: [this.sessionEvent('session.renewed', next)] };
    });
  }

  updateTimeout(id: string, patch: TimeoutConfigPatch): Promise<Session> {
    return this.mutate(id, (session, now) => ({ next: applyTimeoutPatch(session, patch, now), events: [] }));
  }

  async sendMessage(sessionId: string, input: SendMessageInput): Promise<SentMessage> {
    const { sent, events } = await this.store.transaction(async (tx) => {
      const now = this.clock.now();
      const session = await this.find(sessionId, tx);
      assertActive(session, now);
      if (input.idempotencyKey !== undefined) {
        const replay = await this.replayOf(tx, session, input);
        if (replay) return { sent: replay, events: [] };
      }
      const { session: renewed, wasRenewed } = recordActivity(session, now);
      const createdAt = nextMessageTime(renewed, now);
      const next: Session = { ...renewed, lastMessageAt: createdAt };
      const message: Message = {
        id: randomUUID(),
        sessionId: session.id,
        content: input.content,
        authorId: session.userId,
        isAgent: false,
        createdAt,
        metadata: input.metadata,
        attachments: input.attachments,
        inReplyTo: null,
      };
      await tx.insertMessage(message);
      if (input.idempotencyKey !== undefined) {
        await tx.insertIdempotencyRecord({
          sessionId: session.id,
          key: input.idempotencyKey,
          requestHash: input.requestHash,
          messageId: message.id,
          // A websocket-transport answer is complete at once; the others once the agent replied.
          completed: input.transport === 'websocket',
          createdAt: now,
        });
      }
      const pending: PendingEvent[] = [{ type: 'message.created', at: now, data: { message: toMessageView(message) } }];
      if (wasRenewed) pending.push(this.sessionEvent('session.renewed', next));
      const events = await tx.saveSession(next, pending, { rearmWarning: rearmsWarning(next, now) });
      return { sent: { message, session: next, wasRenewed } as SentMessage, events };
    });
    this.fanout.publish(events);
    return sent;
  }

  /** Marks an idempotent request as answered, so that retries get its answer. */
  async completeIdempotentRequest(sessionId: string, key: string | undefined): Promise<void> {
    if (key !== undefined) await this.store.completeIdempotencyRecord(sessionId, key);
  }

  async agentOf(session: Session) {
    const agent = await this.store.getAgent(session.agentId);
    if (!agent) throw agentNotFound(session.agentId);
    return agent;
  }

  async history(sessionId: string, query: HistoryQuery): Promise<HistoryPage> {
    const session = await this.findActive(sessionId);
    const rows = await this.store.listMessages(session.id, planHistory(query));
    return shapeHistoryPage(rows, query);
  }

  info(session: Session) {
    return toSessionInfo(session, this.clock.now());
  }

  private async replayOf(tx: StoreOps, session: Session, input: SendMessageInput): Promise<SentMessage | undefined> {
    const record = await tx.getIdempotencyRecord(session.id, input.idempotencyKey!);
    if (!record) return undefined;
    if (record.requestHash !== input.requestHash) {
      throw new AppError('CONFLICT', 'Idempotency-Key was already used with a different request', 'Idempotency-Key');
    }
    if (!record.completed) {
      throw new AppError('CONFLICT', 'A request with this Idempotency-Key is still being processed', 'Idempotency-Key');
    }
    const message = await tx.getMessage(record.messageId);
    if (!message) throw new AppError('CONFLICT', 'The original message of this Idempotency-Key is gone', 'Idempotency-Key');
    return { message, session, wasRenewed: false, replay: { reply: await tx.findReplyTo(message.id) } };
  }

  private sessionEvent(type: PendingEvent['type'], session: Session): PendingEvent {
    const now = this.clock.now();
    return { type, at: now, data: toSessionInfo(session, now) };
  }

  /** Read, decide, write, record events: one transaction. */
  private async mutate(
    id: string,
    decide: (session: Session, now: number) => { next: Session; events: PendingEvent[] },
  ): Promise<Session> {
    const { next, events } = await this.store.transaction(async (tx) => {
      const session = await this.find(id, tx);
      const now = this.clock.now();
      const decision = decide(session, now);
      const events = await tx.saveSession(decision.next, decision.events, { rearmWarning: rearmsWarning(decision.next, now) });
      return { next: decision.next, events };
    });
    this.fanout.publish(events);
    return next;
  }
}
