/** GET /api/messaging/sessions/:id/export: the whole transcript, streamed (SPEC §12). */
import { Type, type Static } from 'typebox';
import { EXPORT_FORMATS, ExportService, type ExportFormat } from '../../services/export.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { SessionIdParams } from '../schemas.js';
import type { App } from '../server.js';

const ExportQuery = Type.Object({
  format: Type.Optional(
    Type.Union(EXPORT_FORMATS.map((f) => Type.Literal(f)), { default: 'json', description: 'json (default), ndjson or markdown' }),
  ),
});

const transcript = (description: string) => ({ schema: { type: 'string' as const, description } });

export async function exportRoutes(app: App, deps: Deps): Promise<void> {
  const service = new ExportService(deps.store, deps.sessions, deps.clock);

  app.get<{ Params: SessionIdParams; Querystring: Static<typeof ExportQuery> }>(
    '/api/messaging/sessions/:sessionId/export',
    {
      config: { auth: { scope: 'sessions:read', sessionToken: true } },
      schema: {
        tags: ['sessions'],
        summary: "Export the session's transcript",
        description:
          'The session and all its messages, oldest first, streamed as they are read (also for an expired ' +
          'session, until it is purged). `json`: `{session, messages, exportedAt}`; `ndjson`: a ' +
          '`{"type":"session","session":…}` line, then one `{"type":"message","message":…}` line per message; ' +
          '`markdown`: a heading with the session id, agent, user and times, then each message under its ' +
          'author ("User" or the agent\'s name) and time, content verbatim. Sent as an attachment named ' +
          '`session-<id>.<json|ndjson|md>`.',
        operationId: 'exportSession',
        params: SessionIdParams,
        querystring: ExportQuery,
        response: {
          ...responses({}, [400, 404]),
          200: {
            description: 'The transcript',
            content: {
              'application/json': transcript('{session, messages, exportedAt}'),
              'application/x-ndjson': transcript('One JSON object per line'),
              'text/markdown': transcript('Markdown'),
            },
          },
        },
      },
    },
    async (request, reply) => {
      const format: ExportFormat = request.query.format ?? 'json';
      const transcript = await service.export(request.params.sessionId, format);
      transcript.body.on('error', (error) => request.log.error({ err: error }, 'export failed while streaming'));
      return reply
        .header('content-type', transcript.contentType)
        .header('content-disposition', `attachment; filename="${transcript.filename}"`)
        .header('cache-control', 'no-store')
        .send(transcript.body);
    },
  );
}
