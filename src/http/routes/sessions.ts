/** Session lifecycle routes: create, list, get, delete, renew, heartbeat, timeout. */
import { Type } from 'typebox';
import { generateSessionToken, hashSecret } from '../../auth/credentials.js';
import { AppError } from '../../domain/errors.js';
import { decodeCursor } from '../../domain/keyset.js';
import { parseMetadataFilters } from '../../domain/list-filters.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import {
  createSessionBody,
  ListSessionsQuery,
  SessionIdParams,
  SessionInfo,
  SessionList,
  Success,
  timeoutConfigPatch,
} from '../schemas.js';
import type { App } from '../types.js';

const SessionCreated = Type.Object({
  ...SessionInfo.properties,
  sessionToken: Type.String({
    description: 'Credentials for this session only (get, history, events, send, heartbeat, renew, delete). Shown only here.',
  }),
});
const tags = ['sessions'];

export async function sessionRoutes(app: App, deps: Deps): Promise<void> {
  const { sessions, settings } = deps;

  app.post(
    '/',
    {
      config: { auth: { scope: 'sessions:create' }, chargeCreate: true },
      schema: {
        tags,
        summary: 'Create a session',
        operationId: 'createSession',
        body: createSessionBody(settings.bounds),
        response: responses({ 201: SessionCreated }, [400, 404, 413, 415]),
      },
    },
    async (request, reply) => {
      const { agentId, userId, timeoutConfig, replyPolicy } = request.body;
      const sessionToken = generateSessionToken();
      const session = await sessions.create({
        agentId,
        userId,
        metadata: request.body.metadata ?? {},
        timeoutConfig,
        replyPolicy,
        tokenHash: hashSecret(sessionToken),
      });
      deps.owners.remember(session);
      return reply.status(201).send({ ...sessions.info(session), sessionToken });
    },
  );

  app.get(
    '/',
    {
      config: { auth: { scope: 'sessions:read' } },
      schema: {
        tags,
        summary: 'List sessions',
        operationId: 'listSessions',
        querystring: ListSessionsQuery,
        response: responses({ 200: SessionList }, [400]),
      },
    },
    async (request) => {
      const { agentId, userId, status = 'active', limit = 50, offset, cursor } = request.query;
      if (cursor !== undefined && offset !== undefined) {
        throw new AppError('INVALID_PAGINATION', 'Invalid pagination parameters', 'cursor: not together with offset');
      }
      const after = cursor === undefined ? undefined : decodeCursor('s', cursor);
      const metadata = parseMetadataFilters(request.query);
      const list = await sessions.list({ agentId, userId, status, limit, offset: offset ?? 0, metadata, after });
      return {
        sessions: list.sessions.map((s) => sessions.info(s)),
        total: list.total,
        limit,
        offset: offset ?? 0,
        nextCursor: list.nextCursor,
        stats: list.stats,
      };
    },
  );

  app.get(
    `/:sessionId`,
    {
      config: { auth: { scope: 'sessions:read', sessionToken: true } },
      schema: {
        tags,
        summary: 'Get a session',
        operationId: 'getSession',
        params: SessionIdParams,
        response: responses({ 200: SessionInfo }, [404, 410]),
      },
    },
    async (request) => sessions.info(await sessions.findActive(request.params.sessionId)),
  );

  app.delete(
    `/:sessionId`,
    {
      config: { auth: { scope: 'sessions:manage', sessionToken: true } },
      schema: {
        tags,
        summary: 'End a session (its messages are deleted too)',
        operationId: 'deleteSession',
        params: SessionIdParams,
        response: responses({ 200: Success }, [404]),
      },
    },
    async (request) => {
      const { sessionId } = request.params;
      await sessions.delete(sessionId);
      return { success: true as const, message: `Session ${sessionId} deleted successfully` };
    },
  );

  app.post(
    `/:sessionId/renew`,
    {
      config: { auth: { scope: 'sessions:write', sessionToken: true } },
      schema: {
        tags,
        summary: 'Renew a session manually',
        operationId: 'renewSession',
        params: SessionIdParams,
        response: responses({ 200: SessionInfo }, [404, 410, 422]),
      },
    },
    async (request) => sessions.info(await sessions.renew(request.params.sessionId)),
  );

  app.post(
    `/:sessionId/heartbeat`,
    {
      config: { auth: { scope: 'sessions:write', sessionToken: true } },
      schema: {
        tags,
        summary: 'Heartbeat: activity without a message',
        operationId: 'sessionHeartbeat',
        params: SessionIdParams,
        response: responses({ 200: SessionInfo }, [404, 410]),
      },
    },
    async (request) => sessions.info(await sessions.heartbeat(request.params.sessionId)),
  );

  app.patch(
    `/:sessionId/timeout`,
    {
      config: { auth: { scope: 'sessions:manage' } },
      schema: {
        tags,
        summary: 'Change the timeout configuration',
        operationId: 'updateSessionTimeout',
        params: SessionIdParams,
        body: timeoutConfigPatch(settings.bounds),
        response: responses({ 200: SessionInfo }, [400, 404, 410, 413, 415]),
      },
    },
    async (request) => sessions.info(await sessions.updateTimeout(request.params.sessionId, request.body)),
  );
}
