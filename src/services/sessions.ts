/**
 * The sessions use cases: each loads what it needs in one transaction (or one read-decide-write
 * of the session, `Store.updateSession`), lets the pure domain decide, stores the new state
 * together with the events it causes, and publishes those events once committed. Routes call
 * these and only translate.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Agent } from '../domain/agent.js';
import { AppError, agentNotFound, sessionNotFound } from '../domain/errors.js';
import type { PendingEvent } from '../domain/events.js';
import { planHistory, shapeHistoryPage, type HistoryPage, type HistoryQuery } from '../domain/history.js';
import type { JsonObject } from '../domain/json.js';
import { encodeCursor } from '../domain/keyset.js';
import { toMessageView, type Attachment, type Message } from '../domain/message.js';
import { decideSend, effectivePolicy, replyInProgress, type ReplyPolicy } from '../domain/reply-policy.js';
import { LocalReplyRegistry, type ReplyRegistry } from '../agents/reply-registry.js';
import {
  applySettingsPatch,
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
  type SessionSettingsPatch,
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
  replyPolicy?: ReplyPolicy;
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
  /** The send's own reply policy, overriding the session's (SPEC §10). */
  ifBusy?: ReplyPolicy;
}

export interface SentMessage {
  message: Message;
  session: Session;
  wasRenewed: boolean;
  /** Set when this answers a retry: the reply stored for the first request, if any yet. */
  replay?: { reply: Message | undefined };
}

const cancelledEvent = (messageId: string, now: number): PendingEvent => ({ type: 'message.cancelled', at: now, data: { messageId } });

export const hashRequest = (body: unknown): string =>
  createHash('sha256')
    .update(JSON.stringify(body ?? null))
    .digest('base64url');

export class SessionService {
  constructor(
    private readonly store: Store,
    private readonly fanout: Fanout,
    private readonly clock: Clock,
    private readonly settings: SessionsSettings,
    /** The replies under way (SPEC §10), shared with Replies. */
    private readonly replies: ReplyRegistry = new LocalReplyRegistry(),
  ) {}

  async create(input: CreateSessionInput): Promise<Session> {
    const agent = await this.store.getAgent(input.agentId);
    if (!agent) throw agentNotFound(input.agentId);
    const config = resolveTimeoutConfig(this.settings.sessionDefaults, agent.sessionDefaults, input.timeoutConfig);
    const session = createSession(
      {
        id: randomUUID(),
        channelId: randomUUID(),
        agentId: agent.id,
        userId: input.userId,
        metadata: input.metadata,
        config,
        replyPolicy: input.replyPolicy,
      },
      this.clock.now(),
    );
    // session.created is the session's first event (seq 1), stored with it.
    const created: PendingEvent = { type: 'session.created', at: session.createdAt, data: toSessionInfo(session, session.createdAt) };
    const events = await this.store.insertSession(session, input.tokenHash, [created]);
    this.fanout.publish(events);
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
    const list = await this.store.listSessions({
      ...query,
      limit: query.limit + 1,
      now: this.clock.now(),
      retentionMs: this.settings.retentionMs,
    });
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

  /** PATCH of the session: metadata and reply policy; not activity, no event. */
  updateSettings(id: string, patch: SessionSettingsPatch): Promise<Session> {
    return this.mutate(id, (session, now) => ({ next: applySettingsPatch(session, patch, now), events: [] }), { settings: true });
  }

  /**
   * Stores a user message and records its reply as under way. While earlier replies are still
   * under way the reply policy decides (SPEC §10): wait behind them, refuse (409, nothing stored
   * or renewed), or cancel them first. The decision and the record happen under the session's
   * row, so two sends, or a send and a cancel, never both see the session idle.
   */
  async sendMessage(sessionId: string, input: SendMessageInput): Promise<SentMessage> {
    let recorded: Message | undefined;
    const { sent, events } = await this.store
      .transaction(async (tx) => {
        const now = this.clock.now();
        const session = await this.find(sessionId, tx);
        assertActive(session, now);
        if (input.idempotencyKey !== undefined) {
          const replay = await this.replayOf(tx, session, input);
          if (replay) return { sent: replay, events: [] };
        }
        // Whether the session is busy matters only to a policy other than enqueue: no lookup for
        // the common case.
        const policy = effectivePolicy(session.replyPolicy, input.ifBusy);
        const underWay = policy === 'enqueue' ? [] : await this.replies.pending(session.id);
        const decision = decideSend(policy, underWay.length > 0);
        if (decision === 'refuse') throw replyInProgress(session.id, underWay.length);
        const cancelled = decision === 'cancel-then-store' ? await this.replies.takeAll(session.id) : [];
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
        const pending: PendingEvent[] = [
          ...cancelled.map((id) => cancelledEvent(id, now)),
          { type: 'message.created', at: now, data: { message: toMessageView(message) } },
        ];
        if (wasRenewed) pending.push(this.sessionEvent('session.renewed', next));
        const events = await tx.saveSession(next, pending, { rearmWarning: rearmsWarning(next, now) });
        // Last, so that nothing after it can fail the transaction and leave the record behind.
        await this.replies.add(message);
        recorded = message;
        const sent: SentMessage = { message, session: next, wasRenewed };
        return { sent, events };
      })
      .catch(async (error: unknown) => {
        // The commit itself failed: the reply was never under way.
        if (recorded) await this.replies.remove(recorded);
        throw error;
      });
    this.fanout.publish(events);
    return sent;
  }

  /**
   * Cancels every reply of the session under way, on whichever instance it runs (SPEC §10):
   * `message.cancelled` for each, which the instance running it acts on. Not activity.
   */
  async cancelReplies(id: string): Promise<string[]> {
    const { cancelled, events } = await this.store.transaction(async (tx) => {
      const session = await this.find(id, tx);
      const now = this.clock.now();
      assertActive(session, now);
      const cancelled = await this.replies.takeAll(session.id);
      const events = await tx.appendEvents(
        session.id,
        cancelled.map((messageId) => cancelledEvent(messageId, now)),
      );
      return { cancelled, events };
    });
    this.fanout.publish(events);
    return cancelled;
  }

  /** Marks an idempotent request as answered, so that retries get its answer. */
  async completeIdempotentRequest(sessionId: string, key: string | undefined): Promise<void> {
    if (key !== undefined) await this.store.completeIdempotencyRecord(sessionId, key);
  }

  /** The session's agent; AGENT_NOT_FOUND when it has been deleted since. */
  async agentOf(session: Session): Promise<Agent> {
    const agent = await this.findAgent(session);
    if (!agent) throw agentNotFound(session.agentId);
    return agent;
  }

  /** The session's agent, if it still exists. */
  findAgent(session: Session): Promise<Agent | undefined> {
    return this.store.getAgent(session.agentId);
  }

  /** The session that owns an elizaOS channel, if any (not checked for expiry or retention). */
  findByChannel(channelId: string): Promise<Session | undefined> {
    return this.store.getSessionByChannel(channelId);
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

  /**
   * Read, decide, write, record events, atomically (`Store.updateSession`). The decision, with
   * the checks that may refuse it (not found, past retention), is pure: the store may make it
   * again on a newer state of the session.
   */
  private async mutate(
    id: string,
    decide: (session: Session, now: number) => { next: Session; events: PendingEvent[] },
    options: { settings?: boolean } = {},
  ): Promise<Session> {
    if (!isUuid(id)) throw sessionNotFound(id);
    const { session, events } = await this.store.updateSession(id, (current) => {
      const now = this.clock.now();
      if (!current || isPastRetention(current, now, this.settings.retentionMs)) throw sessionNotFound(id);
      const decision = decide(current, now);
      return { ...decision, options: { rearmWarning: rearmsWarning(decision.next, now), ...options } };
    });
    this.fanout.publish(events);
    return session;
  }
}
