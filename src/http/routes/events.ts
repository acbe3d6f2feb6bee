/**
 * GET /api/messaging/sessions/:id/events: the session's events as Server-Sent Events,
 * `id:` = sequence number. `Last-Event-ID` (or `?lastEventId=`) resumes after that event with
 * nothing lost or repeated. The stream ends after `session.expired` or `session.ended`.
 */
import { Type } from 'typebox';
import { validationError } from '../../domain/errors.js';
import type { SessionEvent as StoredEvent } from '../../domain/events.js';
import { eventsDelivered } from '../../observability/metrics.js';
import { TERMINAL_EVENTS } from '../../realtime/feed.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { SessionEvent, SessionIdParams } from '../schemas.js';
import type { App } from '../types.js';
import { openEventStream } from '../sse.js';
import { STREAM_RETRY_AFTER_SECONDS } from '../streams.js';

function parseLastEventId(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,15}$/.test(value)) throw validationError('Last-Event-ID: must be a non-negative integer (an event seq)');
  return Number(value);
}

export async function eventRoutes(app: App, deps: Deps): Promise<void> {
  const { sessions, feed, settings, credentialWatch, streams } = deps;

  app.get(
    '/:sessionId/events',
    {
      config: { auth: { scope: 'sessions:read', sessionToken: true, queryToken: true } },
      schema: {
        tags: ['sessions'],
        summary: "Stream the session's events (Server-Sent Events)",
        description:
          'Each event is one SSE frame: `id: <seq>`, `event: <type>`, `data: <event JSON>`. Reconnect with ' +
          '`Last-Event-ID` to receive every missed event in order, then live ones. Comment lines are sent as ' +
          'heartbeats. Browsers (EventSource) may pass the session token as `?token=`.',
        operationId: 'streamSessionEvents',
        params: SessionIdParams,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String()) }),
        querystring: Type.Object({
          lastEventId: Type.Optional(Type.String({ description: 'Same as the Last-Event-ID header' })),
          token: Type.Optional(Type.String({ description: 'A session token or API key, for EventSource' })),
        }),
        response: {
          ...responses({}, [400, 404, 410, 429]),
          200: { description: 'An event stream', content: { 'text/event-stream': { schema: SessionEvent } } },
        },
      },
    },
    async (request, reply) => {
      const after = parseLastEventId(request.headers['last-event-id'] ?? request.query.lastEventId);
      const session = await sessions.findActive(request.params.sessionId);
      let release: () => void;
      try {
        release = await streams.acquire(request.principal);
      } catch (error) {
        void reply.header('retry-after', STREAM_RETRY_AFTER_SECONDS);
        throw error;
      }
      // Given back when the response closes, also if the client went away while the place was taken.
      reply.raw.once('close', release);
      if (reply.raw.destroyed || request.raw.socket.destroyed) release();

      const stream = openEventStream(reply, 200, true);
      const follow = feed.follow(session.id, after, (event: StoredEvent) => {
        stream.send(event.type, event, event.seq);
        eventsDelivered.inc({ transport: 'sse' });
        if (TERMINAL_EVENTS.has(event.type)) setImmediate(() => stream.end());
      });
      const heartbeat = setInterval(() => stream.comment('keep-alive'), settings.sseHeartbeatMs);
      heartbeat.unref();
      const unwatch = request.principal ? credentialWatch.watch(request.principal, () => stream.end()) : () => {};
      stream.signal.addEventListener('abort', () => {
        follow.close();
        clearInterval(heartbeat);
        unwatch();
      });
      stream.comment('connected');
      await follow.ready.catch((error) => {
        request.log.error({ err: error }, 'event stream backlog failed');
        stream.end();
      });
    },
  );
}
