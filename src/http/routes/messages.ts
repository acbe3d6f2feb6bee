/** Sending messages (three transports, idempotent retries) and reading the history. */
import { AgentError } from '../../agents/provider.js';
import { toMessageView, type Message } from '../../domain/message.js';
import { toSessionStatus } from '../../domain/session.js';
import { HISTORY_LIMIT, parseCursor } from '../../domain/validation.js';
import type { ReplyOutcome } from '../../services/messaging.js';
import type { SentMessage, Transport } from '../../services/sessions.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { HistoryPage, HistoryQuery, IdempotencyHeaders, SendMessageBody, SendMessageResponse, SessionIdParams } from '../schemas.js';
import type { App } from '../types.js';
import { openEventStream } from '../sse.js';
import { isoInstant } from '../../domain/instant.js';

const PATH = '/:sessionId/messages';
const tags = ['messages'];
const LEGACY_MODES: Record<NonNullable<SendMessageBody['mode']>, Transport> = { websocket: 'websocket', sync: 'http', stream: 'sse' };

const agentResponse = (reply: Message) => ({
  id: reply.id,
  text: reply.content,
  ...(typeof reply.metadata.thought === 'string' ? { thought: reply.metadata.thought } : {}),
  ...(Array.isArray(reply.metadata.actions) ? { actions: reply.metadata.actions as string[] } : {}),
  createdAt: isoInstant(reply.createdAt),
});

const agentErrorOf = (error: unknown) =>
  error instanceof AgentError
    ? { code: error.code, message: error.message }
    : { code: 'AGENT_FAILED', message: 'The agent failed to reply' };

export async function messageRoutes(app: App, deps: Deps): Promise<void> {
  const { sessions, messaging, clock } = deps;

  const sentBody = (sent: SentMessage) => {
    const view = toMessageView(sent.message);
    return { ...view, userMessage: view, sessionStatus: toSessionStatus(sent.session, sent.wasRenewed, clock.now()) };
  };

  app.post(
    PATH,
    {
      config: { auth: { scope: 'sessions:write', sessionToken: true } },
      schema: {
        tags,
        summary: 'Send a message; the agent answers over the chosen transport',
        description:
          'transport `websocket` (default): 201 at once, the reply arrives as events. `http`: waits for the reply ' +
          '(`agentResponse`, or `agentError` on failure). `sse`: a text/event-stream of `user_message`, `chunk`, `done` or `error`. ' +
          "While a reply is under way, the session's `replyPolicy` (or `ifBusy`) decides: `enqueue` waits, `reject` answers " +
          '409 `REPLY_IN_PROGRESS`, `interrupt` cancels the replies under way first. A client that disconnects does not cancel.',
        operationId: 'sendSessionMessage',
        params: SessionIdParams,
        headers: IdempotencyHeaders,
        body: SendMessageBody,
        response: {
          ...responses({ 201: SendMessageResponse }, [400, 404, 409, 410, 413, 415]),
          // transport "sse" (legacy mode "stream"): the reply as it is written.
          200: {
            description: 'With transport "sse": the exchange as Server-Sent Events (user_message, chunk, done, error)',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const transport: Transport = body.transport ?? (body.mode ? LEGACY_MODES[body.mode] : 'websocket');
      const outcome = await messaging.send(request.params.sessionId, {
        content: body.content,
        attachments: body.attachments,
        metadata: body.metadata,
        transport,
        idempotencyKey: request.headers['idempotency-key'],
        ifBusy: body.ifBusy,
        body,
        onReplyFailure: (fields) => request.log.warn(fields, 'agent reply failed'),
      });
      const { sent } = outcome;
      if (outcome.kind === 'replayed') {
        return reply.status(201).send({ ...sentBody(sent), ...(outcome.reply ? { agentResponse: agentResponse(outcome.reply) } : {}) });
      }
      if (outcome.kind === 'accepted') return reply.status(201).send(sentBody(sent));

      if (transport === 'http') {
        const settled = await outcome.reply();
        return reply.status(201).send({
          ...sentBody(sent),
          ...(settled.ok ? { agentResponse: agentResponse(settled.reply) } : { agentError: agentErrorOf(settled.error) }),
        });
      }

      const stream = openEventStream(reply);
      stream.send('user_message', sentBody(sent));
      try {
        const settled = await outcome
          .reply((chunk, index, messageId) => stream.send('chunk', { messageId, chunk, index }))
          .catch((error: unknown): ReplyOutcome => ({ ok: false, error }));
        if (settled.ok) {
          const current = await sessions.find(sent.session.id).catch(() => sent.session);
          stream.send('done', {
            message: toMessageView(settled.reply),
            sessionStatus: toSessionStatus(current, sent.wasRenewed, clock.now()),
          });
        } else {
          stream.send('error', agentErrorOf(settled.error));
        }
      } finally {
        stream.end();
      }
    },
  );

  app.get(
    PATH,
    {
      // Every parameter is a paging one (SPEC §5): a refused one is INVALID_PAGINATION.
      config: { auth: { scope: 'sessions:read', sessionToken: true }, paginationQuery: true },
      schema: {
        tags,
        summary: 'Message history, newest first, with exact cursors',
        operationId: 'getSessionMessages',
        params: SessionIdParams,
        querystring: HistoryQuery,
        response: responses({ 200: HistoryPage }, [400, 404, 410]),
      },
    },
    async (request) => {
      const query = {
        limit: request.query.limit ?? HISTORY_LIMIT.default,
        before: parseCursor(request.query.before, 'before'),
        after: parseCursor(request.query.after, 'after'),
      };
      const page = await sessions.history(request.params.sessionId, query);
      return { messages: page.messages.map(toMessageView), hasMore: page.hasMore, cursors: page.cursors };
    },
  );
}
