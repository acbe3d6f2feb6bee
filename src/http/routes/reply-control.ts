/**
 * Reply control (SPEC §10): the session's own settings (metadata, reply policy) and cancelling
 * the replies under way.
 */
import { Type } from 'typebox';
import { validationError } from '../../domain/errors.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { metadataInput, ReplyPolicy, SessionIdParams, SessionInfo } from '../schemas.js';
import type { App } from '../types.js';

const BASE = '/:sessionId';
const tags = ['sessions'];

const SessionPatchBody = Type.Object(
  {
    metadata: Type.Optional(metadataInput('Replaces the whole metadata object (null: {})')),
    replyPolicy: Type.Optional(ReplyPolicy),
  },
  { additionalProperties: false, description: 'At least one of the fields' },
);

const CancelResponse = Type.Object({
  cancelled: Type.Array(Type.String({ format: 'uuid' }), { description: 'User message ids whose replies were cancelled, oldest first' }),
});

export async function replyControlRoutes(app: App, deps: Deps): Promise<void> {
  const { sessions } = deps;

  app.patch(
    BASE,
    {
      config: { auth: { scope: 'sessions:manage' } },
      schema: {
        tags,
        summary: "Change the session's metadata or reply policy",
        description: '`metadata` replaces the whole object; `replyPolicy` is what a send does while a reply is under way. Not activity.',
        operationId: 'updateSession',
        params: SessionIdParams,
        body: SessionPatchBody,
        response: responses({ 200: SessionInfo }, [400, 404, 410, 413, 415]),
      },
    },
    async (request) => {
      const body = request.body ?? {};
      if (body.metadata === undefined && body.replyPolicy === undefined) {
        throw validationError('body: give at least one of metadata, replyPolicy');
      }
      const patch = {
        ...(body.metadata === undefined ? {} : { metadata: body.metadata ?? {} }),
        ...(body.replyPolicy === undefined ? {} : { replyPolicy: body.replyPolicy }),
      };
      return sessions.info(await sessions.updateSettings(request.params.sessionId, patch));
    },
  );

  app.post(
    `${BASE}/cancel`,
    {
      config: { auth: { scope: 'sessions:write', sessionToken: true } },
      schema: {
        tags,
        summary: "Cancel the session's running and waiting replies",
        description:
          'Answers the ids of the user messages whose replies were cancelled (empty when none was under way). On ' +
          'whichever instance a reply runs, its upstream request is aborted, no agent message is stored, ' +
          '`message.cancelled` is emitted, a waiting `http` send answers `agentError.code` `AGENT_CANCELLED` and a ' +
          'waiting `sse` send gets `error` and ends. No body. Not activity.',
        operationId: 'cancelSessionReplies',
        params: SessionIdParams,
        response: responses({ 200: CancelResponse }, [404, 410]),
      },
    },
    async (request) => ({ cancelled: await sessions.cancelReplies(request.params.sessionId) }),
  );
}
