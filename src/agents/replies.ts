/**
 * Producing and storing agent replies. One reply at a time per session: a message sent while
 * the agent is still answering waits its turn, so replies come in the order of the messages.
 * Each call to the provider is bounded by a timeout and can be cancelled by the caller.
 * The policy is written down in docs/agents.md.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import type { Agent } from '../domain/agent.js';
import type { PendingEvent, SessionEvent } from '../domain/events.js';
import { toMessageView, type Message } from '../domain/message.js';
import { isExpired, nextMessageTime, type Session } from '../domain/session.js';
import type { Fanout } from '../realtime/fanout.js';
import type { Store } from '../store/store.js';
import { isServiceUnavailable } from '../store/unavailable.js';
import { agentFirstChunk, recordReply } from '../observability/metrics.js';
import { AgentError, replyCancelled, type ReplyExtras } from './provider.js';
import { providerFor, replyTimeoutMs } from './providers.js';
import { LocalReplyRegistry, type ReplyRegistry } from './reply-registry.js';
import { processTurns, type ReleaseTurn, type TurnLock } from './turn-lock.js';
import { describeCause } from './upstream.js';

/** A reply longer than this is refused rather than stored (a runaway model or endpoint). */
const MAX_REPLY_CHARS = 256 * 1024;

/** The waits between attempts while the store is away: 100 ms, doubling, at most 1 s. */
const STORE_RETRY_FIRST_MS = 100;
const STORE_RETRY_MAX_MS = 1000;

/**
 * Runs `work` again while the store is away (PostgreSQL restarting, a connection cut), until it
 * succeeds or `signal` aborts (the reply's deadline, a cancel, a shutdown): a reply the agent
 * has produced is not thrown away for an outage shorter than the reply's timeout. Any other
 * error, and the store's last one once `signal` has aborted, fails the reply as before.
 */
async function whileStoreAway<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let wait = STORE_RETRY_FIRST_MS; ; wait = Math.min(wait * 2, STORE_RETRY_MAX_MS)) {
    try {
      return await work();
    } catch (error) {
      if (!isServiceUnavailable(error) || signal.aborted) throw error;
      // Rejects at once when `signal` aborts; the store's error is the one reported.
      await delay(wait, undefined, { signal }).catch(() => {});
      if (signal.aborted) throw error;
    }
  }
}

/** Log fields for a failed reply: enough to tell which agent and endpoint, never a credential. */
export function replyFailureLog(agent: Agent, error: unknown): Record<string, string> {
  return {
    agentId: agent.id,
    provider: agent.provider.type,
    code: error instanceof AgentError ? error.code : 'AGENT_FAILED',
    reason: describeCause(error),
  };
}

export interface ReplyOptions {
  /** Called for every chunk as it arrives; `index` starts at 0. */
  onChunk?: (chunk: string, index: number, messageId: string) => void;
  /** Aborting it cancels the reply as `cancel` does (the HTTP transports do not: a disconnect is not a cancel). */
  signal?: AbortSignal;
}

export interface ReplySettings {
  agentTimeoutMs: number;
  historyMessages: number;
  /** The HTTP client of the providers (OUTBOUND_DENY_PRIVATE); the global fetch unless given. */
  fetch?: typeof globalThis.fetch;
}

export class Replies {
  /** The last reply queued per session; the next one starts when it settles. */
  private readonly tails = new Map<string, Promise<unknown>>();
  /** The replies running now, so that a shutdown past its grace period can fail them. */
  private readonly running = new Set<AbortController>();
  private stoppedWith: AgentError | undefined;

  constructor(
    private readonly store: Store,
    private readonly fanout: Fanout,
    private readonly clock: Clock,
    private readonly settings: ReplySettings,
    /** Makes turns of one session wait for each other across instances (scaled mode). */
    private readonly turns: TurnLock = processTurns,
    /** The replies under way, shared with the sends that record them. */
    private readonly registry: ReplyRegistry = new LocalReplyRegistry(),
  ) {}

  /**
   * Queues the agent's answer to `message` (already recorded as under way in the registry, by
   * the send that stored it) and resolves with the stored reply. Rejects with AGENT_CANCELLED
   * as soon as the reply is cancelled (`cancel`, an interrupting send, the session ending),
   * wherever that happened: the events saying so reach every instance through the fan-out.
   */
  answer(session: Session, agent: Agent, message: Message, options: ReplyOptions = {}): Promise<Message> {
    const cancel = new AbortController();
    const unsubscribe = this.fanout.subscribe(session.id, (event) => {
      if (event.type === 'session.ended' || event.type === 'session.expired') {
        cancel.abort(new AgentError('AGENT_CANCELLED', 'The session has ended'));
      } else if (event.type === 'message.cancelled' && (event.data as { messageId?: unknown }).messageId === message.id) {
        cancel.abort(replyCancelled());
      }
    });
    const onCallerAbort = () => cancel.abort(replyCancelled());
    if (options.signal?.aborted) onCallerAbort();
    else options.signal?.addEventListener('abort', onCallerAbort, { once: true });

    const previous = this.tails.get(session.id) ?? Promise.resolve();
    const progress = { stored: false };
    const turn = previous.catch(() => {}).then(() => this.produce(session, agent, message, cancel.signal, options, progress));
    this.tails.set(session.id, turn);
    void turn
      .catch(() => {})
      .finally(() => {
        if (this.tails.get(session.id) === turn) this.tails.delete(session.id);
        unsubscribe();
        options.signal?.removeEventListener('abort', onCallerAbort);
      });
    // A reply still waiting behind others answers its caller at once when cancelled; its turn
    // then passes without calling the provider.
    const cancelled = new Promise<never>((_, reject) => {
      // Once stored, the reply is the answer, even if the session ends a moment later.
      const fail = () => {
        if (!progress.stored) reject(cancel.signal.reason);
      };
      if (cancel.signal.aborted) fail();
      else cancel.signal.addEventListener('abort', fail, { once: true });
    });
    cancelled.catch(() => {});
    return Promise.race([turn, cancelled]);
  }

  /** Forgets a reply that will not be produced after all (its send failed after storing it). */
  async forget(message: Message): Promise<void> {
    await this.registry.remove(message);
  }

  /**
   * Shutdown past its grace period: every running reply fails with `error` (its client gets
   * `agentError`, nothing is stored for it) and replies still queued fail before they start.
   */
  stop(error: AgentError): void {
    this.stoppedWith = error;
    for (const controller of this.running) controller.abort(error);
  }

  /** Settles when every queued reply has finished (used at shutdown and by tests). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.allSettled([...this.tails.values()]);
  }

  private async produce(
    session: Session,
    agent: Agent,
    message: Message,
    cancelled: AbortSignal,
    options: ReplyOptions,
    progress: { stored: boolean },
  ): Promise<Message> {
    const timeoutMs = replyTimeoutMs(agent.provider, this.settings.agentTimeoutMs);
    if (this.stoppedWith) throw this.stoppedWith;
    const controller = new AbortController();
    this.running.add(controller);
    const onCancel = () => controller.abort(cancelled.reason);
    cancelled.addEventListener('abort', onCancel, { once: true });

    const replyId = randomUUID();
    const chunkEvents = new ChunkEvents(this.store, this.fanout, this.clock, session.id);
    const provider = agent.provider.type;
    let startedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let releaseTurn: ReleaseTurn | undefined;
    let stored = false;
    try {
      if (cancelled.aborted) onCancel();
      // Another instance may be answering this session (scaled mode): wait for the turn. The
      // deadline starts once the turn does, as it does for turns queued in this process.
      releaseTurn = await this.turns.acquire(session.id, controller.signal);
      startedAt = performance.now();
      timer = setTimeout(
        () => controller.abort(new AgentError('AGENT_TIMEOUT', `The agent did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      // A turn that waited behind others may find its session gone: no provider call for it.
      const current = await whileStoreAway(() => this.store.getSession(session.id), controller.signal);
      if (!current || isExpired(current, this.clock.now())) {
        throw new AgentError('AGENT_CANCELLED', 'The session ended before the agent replied');
      }
      // Cancelled while waiting, with the event lost on the way (a Redis hiccup): no call.
      if (!(await this.registry.has(message))) throw replyCancelled();
      const history = await whileStoreAway(() => this.historyBefore(message), controller.signal);
      const { text, extras } = await this.collect(
        providerFor(agent.provider, { timeoutMs, fetch: this.settings.fetch }).reply({
          agent,
          session: current,
          history,
          message,
          signal: controller.signal,
        }),
        controller.signal,
        (chunk, index) => {
          if (index === 0) agentFirstChunk.observe({ provider }, (performance.now() - startedAt) / 1000);
          options.onChunk?.(chunk, index, replyId);
          chunkEvents.add({ messageId: replyId, chunk, index });
        },
      );
      if (text.trim() === '') throw new AgentError('AGENT_FAILED', 'The agent returned an empty reply');
      // The chunk events not stored yet go in the reply's own transaction, before its
      // message.created: a short reply costs one transaction, not two.
      const lastChunks = await chunkEvents.drain();
      const claim = { taken: false };
      const reply = await whileStoreAway(
        () => this.save(replyId, session.id, agent, message, text, extras, lastChunks, claim),
        controller.signal,
      );
      stored = true;
      progress.stored = true;
      recordReply(provider, startedAt, undefined);
      return reply;
    } catch (error) {
      recordReply(provider, startedAt, error instanceof AgentError ? error.code : 'INTERNAL_ERROR');
      throw error;
    } finally {
      // Whatever ended the turn, an upstream request still open is torn down with it.
      if (!controller.signal.aborted) controller.abort(new AgentError('AGENT_CANCELLED', 'The reply is over'));
      await chunkEvents.flush();
      await releaseTurn?.();
      clearTimeout(timer);
      cancelled.removeEventListener('abort', onCancel);
      this.running.delete(controller);
      // Failed or timed out: the session is no longer busy with it (a stored reply removed its
      // entry in its own transaction).
      if (!stored) await this.registry.remove(message);
    }
  }

  /**
   * The messages stored before `message`, oldest first. Counted back from the message itself,
   * not from the newest one: a turn that waited behind others must not lose its context to the
   * messages sent after it.
   */
  private async historyBefore(message: Message): Promise<Message[]> {
    const limit = this.settings.historyMessages;
    if (limit === 0) return [];
    const newestFirst = await this.store.listMessages(message.sessionId, { before: message.createdAt, order: 'desc', fetch: limit });
    return newestFirst.reverse();
  }

  /** Drains the provider's stream; an abort interrupts even a provider that hangs. */
  private async collect(
    stream: AsyncGenerator<string, ReplyExtras | void>,
    signal: AbortSignal,
    onChunk: (chunk: string, index: number) => void,
  ): Promise<{ text: string; extras: ReplyExtras }> {
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(signal.reason instanceof AgentError ? signal.reason : new AgentError('AGENT_CANCELLED', 'Cancelled'));
      if (signal.aborted) fail();
      else signal.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => {});
    let text = '';
    let index = 0;
    try {
      for (;;) {
        const step = await Promise.race([stream.next(), aborted]);
        if (step.done) return { text, extras: step.value ?? {} };
        if (step.value === '') continue;
        if (text.length + step.value.length > MAX_REPLY_CHARS) {
          throw new AgentError('AGENT_FAILED', `The agent's reply exceeded ${MAX_REPLY_CHARS} characters`);
        }
        text += step.value;
        onChunk(step.value, index++);
      }
    } catch (error) {
      void stream.return(undefined).catch(() => {});
      if (error instanceof AgentError) throw error;
      throw new AgentError('AGENT_FAILED', error instanceof Error ? error.message : 'The agent failed');
    }
  }

  private async save(
    id: string,
    sessionId: string,
    agent: Agent,
    inReplyTo: Message,
    text: string,
    extras: ReplyExtras,
    chunkEvents: PendingEvent[],
    /** Whether an earlier attempt, which the store then failed, took the reply's registry entry. */
    claim: { taken: boolean },
  ): Promise<Message> {
    const { reply, events } = await this.store.transaction(async (tx) => {
      if (claim.taken) {
        // An earlier attempt may have committed and lost its connection before the answer came
        // back: its reply is stored, and is the answer (its events are in the log for readers),
        // even if the session has ended since.
        const earlier = await tx.getMessage(id);
        if (earlier) return { reply: earlier, events: [] };
      }
      const now = this.clock.now();
      const session = await tx.getSession(sessionId);
      if (!session || isExpired(session, now)) {
        throw new AgentError('AGENT_CANCELLED', 'The session ended before the agent replied');
      }
      // Under the session's row: either a cancel took the entry (and says so with
      // message.cancelled) or this reply does and is stored, never both. An attempt the store
      // failed after taking it keeps it: a cancel meanwhile found nothing to cancel.
      if (!claim.taken) {
        if (!(await this.registry.remove(inReplyTo))) throw replyCancelled();
        claim.taken = true;
      }
      const createdAt = nextMessageTime(session, now);
      const metadata: Message['metadata'] = {};
      if (extras.thought !== undefined) metadata.thought = extras.thought;
      if (extras.actions !== undefined) metadata.actions = extras.actions;
      const reply: Message = {
        id,
        sessionId,
        content: text,
        authorId: agent.id,
        isAgent: true,
        createdAt,
        metadata,
        attachments: [],
        inReplyTo: inReplyTo.id,
      };
      await tx.insertMessage(reply);
      const pending: PendingEvent[] = [...chunkEvents, { type: 'message.created', at: now, data: { message: toMessageView(reply) } }];
      return { reply, events: await tx.saveSession({ ...session, lastMessageAt: createdAt }, pending) };
    });
    this.fanout.publish(events);
    return reply;
  }
}

/** How often chunk events are stored while a reply streams, and how long after a failed batch. */
const CHUNK_FLUSH_MS = 20;
const CHUNK_RETRY_MS = 1000;

/**
 * Streams `message.chunk` events into the session's event log. Chunks arrive faster than one
 * transaction each would be sensible, so they are stored in small batches (every few
 * milliseconds), in order, and published once stored. A batch the store failed on (it may be
 * away for a moment) stays at the head of the queue and goes with the next batch, a second
 * later: nothing overtakes it. What is not stored when the reply is done is handed over
 * (`drain`) to be stored with the reply itself.
 */
class ChunkEvents {
  /** The chunk events not stored yet, in order. */
  private readonly pending: PendingEvent[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Before this (performance.now()), no batch is tried: the last one failed. */
  private pausedUntil = 0;

  constructor(
    private readonly store: Store,
    private readonly fanout: Fanout,
    private readonly clock: Clock,
    private readonly sessionId: string,
  ) {}

  add(data: { messageId: string; chunk: string; index: number }): void {
    this.pending.push({ type: 'message.chunk', at: this.clock.now(), data });
    this.timer ??= setTimeout(() => void this.flush(), Math.max(CHUNK_FLUSH_MS, this.pausedUntil - performance.now()));
  }

  /** Waits for the batch under way and returns the chunk events not stored. */
  async drain(): Promise<PendingEvent[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
    return this.pending.splice(0);
  }

  /** Stores what is pending as one batch, after the batch under way; never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.chain = this.chain.then(async () => {
      if (this.pending.length === 0) return;
      const batch = this.pending.slice();
      let stored: SessionEvent[];
      try {
        stored = await this.store.appendEvents(this.sessionId, batch);
      } catch {
        this.pausedUntil = performance.now() + CHUNK_RETRY_MS;
        return;
      }
      this.pending.splice(0, batch.length);
      this.fanout.publish(stored);
    });
    return this.chain;
  }
}
