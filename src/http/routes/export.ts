/** GET /api/messaging/sessions/:id/export: the whole transcript, streamed (SPEC §12). */
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import { EXPORT_FORMATS, type ExportFormat } from '../../services/export.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { Literals, SessionIdParams } from '../schemas.js';
import type { App } from '../types.js';

const ExportQuery = Type.Object({
  format: Type.Optional(Literals(EXPORT_FORMATS, { default: 'json', description: 'json (default), ndjson or markdown' })),
});

/** Documented as text; sent as the stream that produces it. */
const transcript = (description: string) => ({ schema: Type.Unsafe<string | Readable>({ type: 'string', description }) });

export async function exportRoutes(app: App, deps: Deps): Promise<void> {
  const service = deps.exports;

  app.get(
    '/:sessionId/export',
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
