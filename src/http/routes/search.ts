/** GET /api/messaging/search: full-text search of message content (SPEC §12). */
import { Type } from 'typebox';
import { SEARCH_LIMIT, SEARCH_QUERY_MAX } from '../../domain/search.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { Message } from '../schemas.js';
import type { App } from '../types.js';

const Uuid = (description: string) => Type.String({ format: 'uuid', description });

const SearchQuery = Type.Object({
  q: Type.String({
    description:
      `1–${SEARCH_QUERY_MAX} characters. Messages whose content contains every word (runs of letters and digits, any ` +
      'script), case-insensitively, anywhere in the text (so words of scripts written without spaces are found too).',
  }),
  agentId: Type.Optional(Uuid('Only sessions with this agent')),
  userId: Type.Optional(Uuid('Only sessions of this user')),
  sessionId: Type.Optional(Uuid('Only this session')),
  limit: Type.Optional(Type.Integer({ minimum: SEARCH_LIMIT.min, maximum: SEARCH_LIMIT.max, default: SEARCH_LIMIT.default })),
  cursor: Type.Optional(Type.String({ description: "The previous page's `nextCursor`" })),
});

const SearchResults = Type.Object({
  results: Type.Array(Type.Object({ sessionId: Type.String({ format: 'uuid' }), message: Message })),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }),
});

export async function searchRoutes(app: App, deps: Deps): Promise<void> {
  const service = deps.search;

  app.get(
    '/',
    {
      // A session token is accepted and searches its own session only.
      config: { auth: { scope: 'sessions:read', sessionToken: true, ownSessionOnly: true } },
      schema: {
        tags: ['sessions'],
        summary: 'Search messages',
        description: 'Newest first, from sessions not yet purged; follow `nextCursor` for older results.',
        operationId: 'searchMessages',
        querystring: SearchQuery,
        response: responses({ 200: SearchResults }, [400]),
      },
    },
    async (request) => {
      const { q, agentId, userId, sessionId, limit = SEARCH_LIMIT.default, cursor } = request.query;
      const principal = request.principal;
      return service.search({
        q,
        agentId,
        userId,
        sessionId,
        limit,
        cursor,
        ownSession: principal?.kind === 'session' ? principal.sessionId : undefined,
      });
    },
  );
}
