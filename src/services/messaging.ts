/**
 * Sending a message (SPEC §5, §10): the user message is stored (a retry with the same
 * Idempotency-Key gets the first answer instead), then the agent replies over the chosen
 * transport. `websocket` answers at once and the reply arrives as events; `http` and `sse` wait
 * for it. Their idempotency record is completed here, in one place, once the reply has settled
 * and before the answer leaves: a client retrying the moment it has the answer gets the replay,
 * never "still being processed". A client that goes away does not cancel the reply.
 */
import { replyFailureLog, type Replies } from '../agents/replies.js';
import type { Message } from '../domain/message.js';
import type { ReplyPolicy } from '../domain/reply-policy.js';
import type { JsonObject } from '../domain/json.js';
import { validateContent, validateIdempotencyKey, type ContentPolicy } from '../domain/validation.js';
import type { Attachment } from '../domain/message.js';
import { hashRequest, type SentMessage, type SessionService, type Transport } from './sessions.js';

export interface SendRequest {
  content: string;
  attachments?: Attachment[];
  /** Checked by the request's schema (SPEC §5); absent or null means {}. */
  metadata?: JsonObject | null;
  transport: Transport;
  /** The Idempotency-Key header as sent, if any. */
  idempotencyKey?: string;
  ifBusy?: ReplyPolicy;
  /** What identifies the request for idempotency: the body as received. */
  body: unknown;
  /** A reply that failed, for the caller's log (the client learns it as `agentError` or an event). */
  onReplyFailure: (fields: Record<string, string>) => void;
}

type OnChunk = (chunk: string, index: number, messageId: string) => void;

/** How a reply the client waits for ended: the stored agent message, or the failure. */
export type ReplyOutcome = { ok: true; reply: Message } | { ok: false; error: unknown };

export type SendOutcome =
  /** A retry: the first request's message and the reply stored for it, if any yet. */
  | { kind: 'replayed'; sent: SentMessage; reply: Message | undefined }
  /** Transport `websocket`: the reply runs on; it arrives as events. */
  | { kind: 'accepted'; sent: SentMessage }
  /** Transports `http` and `sse`: `reply` runs the agent's reply and settles the request (call it once). */
  | { kind: 'replying'; sent: SentMessage; reply(onChunk?: OnChunk): Promise<ReplyOutcome> };

export class MessageService {
  constructor(
    private readonly sessions: SessionService,
    private readonly replies: Replies,
    private readonly contentPolicy: ContentPolicy,
  ) {}

  async send(sessionId: string, request: SendRequest): Promise<SendOutcome> {
    validateContent(request.content, this.contentPolicy);
    const idempotencyKey = validateIdempotencyKey(request.idempotencyKey);
    // sendMessage finds the session (404/410) inside its own transaction; no read before it.
    const sent = await this.sessions.sendMessage(sessionId, {
      content: request.content,
      attachments: request.attachments ?? [],
      metadata: request.metadata ?? {},
      transport: request.transport,
      idempotencyKey,
      requestHash: hashRequest(request.body),
      ifBusy: request.ifBusy,
    });
    if (sent.replay) return { kind: 'replayed', sent, reply: sent.replay.reply };

    const agent = await this.sessions.agentOf(sent.session).catch(async (error: unknown) => {
      await this.replies.forget(sent.message);
      throw error;
    });
    const failed = (error: unknown) => request.onReplyFailure({ sessionId: sent.session.id, ...replyFailureLog(agent, error) });

    if (request.transport === 'websocket') {
      // Its idempotency record was stored complete: the answer is the 201 itself.
      this.replies.answer(sent.session, agent, sent.message).catch(failed);
      return { kind: 'accepted', sent };
    }
    return {
      kind: 'replying',
      sent,
      reply: async (onChunk) => {
        let outcome: ReplyOutcome;
        try {
          outcome = { ok: true, reply: await this.replies.answer(sent.session, agent, sent.message, onChunk ? { onChunk } : {}) };
        } catch (error) {
          failed(error);
          outcome = { ok: false, error };
        }
        await this.sessions.completeIdempotentRequest(sent.session.id, idempotencyKey);
        return outcome;
      },
    };
  }
}
