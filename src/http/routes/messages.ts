/** Sending messages (three transports, idempotent retries) and reading the history. */
import { AgentError } from '../../agents/provider.js';
import { replyFailureLog } from '../../agents/replies.js';
import { toMessageView, type Message } from '../../domain/message.js';
import { toSessionStatus } from '../../domain/session.js';
import {
  parseCursor,
  parseHistoryLimit,
  validateContent,
  validateIdempotencyKey,
  validateMetadata,
} from '../../domain/validation.js';
import { hashRequest, type SentMessage, type Transport } from '../../services/sessions.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import {
  HistoryPage,
  HistoryQuery,
  IdempotencyHeaders,
  SendMessageBody,
  SendMessageResponse,
  SessionIdParams,
  type HistoryQuery as HistoryQueryType,
  type SendMessageBody as SendMessageBodyType,
} from '../schemas.js';
import type { App } from '../server.js';
import { openEventStream } from '../sse.js';

const PATH = '/api/messaging/sessions/:sessionId/messages';
const tags = ['messages'];
const LEGACY_MODES: Record<string, Transport> = { websocket: 'websocket', sync: 'http', stream: 'sse' };

export const agentResponse = (reply: Message) => ({
  id: reply.id,
  text: reply.content,
  ...(typeof reply.metadata.thought === 'string' ? { thought: reply.metadata.thought } : {}),
  ...(Array.isArray(reply.metadata.actions) ? { actions: reply.metadata.actions as string[] } : {}),
  createdAt: new Date(reply.createdAt).toISOString(),
});

const agentErrorOf = (error: unknown) =>
  error instanceof AgentError
    ? { code: error.code, message: error.message }
    : { code: 'AGENT_FAILED', message: 'The agent failed to reply' };

export async function messageRoutes(app: App, deps: Deps): Promise<void> {
  const { sessions, replies, settings, clock } = deps;

  const sentBody = (sent: SentMessage) => {
    const view = toMessageView(sent.message);
    return { ...view, userMessage: view, sessionStatus: toSessionStatus(sent.session, sent.wasRenewed, clock.now()) };
  };

  app.post<{ Params: { sessionId: string }; Body: SendMessageBodyType; Headers: { 'idempotency-key'?: string } }>(
    PATH,
    {
      config: { auth: { scope: 'sessions:write', sessionToken: true } },
      schema: {
        tags,
        summary: 'Send a message; the agent answers over the chosen transport',
        description:
          'transport `websocket` (default): 201 at once, the reply arrives as events. `http`: waits for the reply ' +
          '(`agentResponse`, or `agentError` on failure). `sse`: a text/event-stream of `user_message`, `chunk`, `done` or `error`. ' +
          'While a reply is under way, the session\'s `replyPolicy` (or `ifBusy`) decides: `enqueue` waits, `reject` answers ' +
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
      validateContent(body.content, settings.contentPolicy);
      const metadata = validateMetadata(body.metadata);
      const idempotencyKey = validateIdempotencyKey(request.headers['idempotency-key']);
      const transport: Transport = body.transport ?? (body.mode ? LEGACY_MODES[body.mode]! : 'websocket');

      // sendMessage finds the session (404/410) inside its own transaction; no read before it.
      const sent = await sessions.sendMessage(request.params.sessionId, {
        content: body.content,
        attachments: body.attachments ?? [],
        metadata,
        transport,
        idempotencyKey,
        requestHash: hashRequest(body),
        ifBusy: body.ifBusy,
      });

      if (sent.replay) {
        const replayed = sent.replay.reply;
        return reply.status(201).send({ ...sentBody(sent), ...(replayed ? { agentResponse: agentResponse(replayed) } : {}) });
      }
      const session = sent.session;
      const agent = await sessions.agentOf(session).catch(async (error) => {
        await replies.forget(sent.message);
        throw error;
      });

      if (transport === 'websocket') {
        replies.answer(sent.session, agent, sent.message).catch((error) => {
          request.log.warn({ sessionId: session.id, ...replyFailureLog(agent, error) }, 'agent reply failed');
        });
        return reply.status(201).send(sentBody(sent));
      }

      // The idempotency record is completed before the answer leaves, so that a client retrying
      // the moment it has the answer gets the replay, never "still being processed".
      if (transport === 'http') {
        let outcome: { agentResponse: ReturnType<typeof agentResponse> } | { agentError: ReturnType<typeof agentErrorOf> };
        try {
          // A client that goes away does not cancel (SPEC §10): the reply is stored and emitted.
          const answer = await replies.answer(sent.session, agent, sent.message);
          outcome = { agentResponse: agentResponse(answer) };
        } catch (error) {
          request.log.warn({ sessionId: session.id, ...replyFailureLog(agent, error) }, 'agent reply failed');
          outcome = { agentError: agentErrorOf(error) };
        }
        await sessions.completeIdempotentRequest(session.id, idempotencyKey);
        return reply.status(201).send({ ...sentBody(sent), ...outcome });
      }

      const stream = openEventStream(reply);
      stream.send('user_message', sentBody(sent));
      try {
        // Nor does a stream that closes: the reply still runs to the end (SPEC §10).
        const answer = await replies.answer(sent.session, agent, sent.message, {
          onChunk: (chunk, index, messageId) => stream.send('chunk', { messageId, chunk, index }),
        });
        await sessions.completeIdempotentRequest(session.id, idempotencyKey);
        const current = await sessions.find(session.id).catch(() => sent.session);
        stream.send('done', { message: toMessageView(answer), sessionStatus: toSessionStatus(current, sent.wasRenewed, clock.now()) });
      } catch (error) {
        request.log.warn({ sessionId: session.id, ...replyFailureLog(agent, error) }, 'agent reply failed');
        await sessions.completeIdempotentRequest(session.id, idempotencyKey).catch(() => undefined);
        stream.send('error', agentErrorOf(error));
      } finally {
        stream.end();
      }
    },
  );

  app.get<{ Params: { sessionId: string }; Querystring: HistoryQueryType }>(
    PATH,
    {
      config: { auth: { scope: 'sessions:read', sessionToken: true } },
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
        limit: parseHistoryLimit(request.query.limit),
        before: parseCursor(request.query.before, 'before'),
        after: parseCursor(request.query.after, 'after'),
      };
      const page = await sessions.history(request.params.sessionId, query);
      return { messages: page.messages.map(toMessageView), hasMore: page.hasMore, cursors: page.cursors };
    },
  );
}
