/**
 * The Fastify instance: its options (limits, timeouts, answers to what fails before any route
 * runs), then one plugin per concern, in the order their hooks must run, then the routes, each
 * resource under its path prefix. Routes stay thin: parse, call a service, shape the answer.
 */
import type { Socket } from 'node:net';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { AppError } from '../domain/errors.js';
import { security } from './auth.js';
import type { Deps } from './deps.js';
import { clientErrorAnswer, envelope, frameworkError } from './errors.js';
import { idNormalisation } from './ids.js';
import { AGENTS_PATH, KEYS_PATH, SEARCH_PATH, SESSIONS_PATH, WEBHOOKS_PATH } from './paths.js';
import { BODY_LIMIT_BYTES, bodyParsing } from './plugins/body.js';
import { validationAndErrors } from './plugins/errors.js';
import { notFound } from './plugins/not-found.js';
import { openApi } from './plugins/openapi.js';
import { requestLog } from './plugins/request-log.js';
import { shutdown } from './plugins/shutdown.js';
import { agentRoutes } from './routes/agents.js';
import { eventRoutes } from './routes/events.js';
import { exportRoutes } from './routes/export.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { messageRoutes } from './routes/messages.js';
import { metricsRoutes } from './routes/metrics.js';
import { replyControlRoutes } from './routes/reply-control.js';
import { searchRoutes } from './routes/search.js';
import { sessionRoutes } from './routes/sessions.js';
import { webRoutes } from './routes/web.js';
import { webhookRoutes } from './routes/webhooks.js';
import type { App } from './types.js';

export type { App } from './types.js';

/**
 * A path parameter whose %-encoding is broken names no resource, and Fastify rejects it before
 * any route (or its config) is known: below these prefixes it is a malformed id of that
 * resource (SPEC §4: 404 with the resource's code), elsewhere an unknown path.
 */
const MALFORMED_ID: ReadonlyArray<readonly [prefix: string, notFound: () => AppError]> = [
  [`${SESSIONS_PATH}/`, () => new AppError('SESSION_NOT_FOUND', 'Session not found')],
  [`${AGENTS_PATH}/`, () => new AppError('AGENT_NOT_FOUND', 'Agent not found')],
];

export async function buildServer(deps: Deps, logger: FastifyServerOptions['logger']): Promise<App> {
  const app = Fastify({
    logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // Fastify's per-request lines are off; access lines come from the request-log plugin.
    logController: new LogController({ disableRequestLogging: true }),
    // Draining is answered by the shutdown plugin, with the error envelope.
    return503OnClosing: false,
    // SPEC §6: headers and body must have arrived within REQUEST_TIMEOUT_SECONDS, else 408.
    // Node checks its connections every `connectionsCheckingInterval` ms (30 s by default, too
    // coarse for a 30 s limit); headers alone get no longer than the whole request.
    requestTimeout: deps.settings.requestTimeoutMs,
    http: {
      headersTimeout: deps.settings.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, deps.settings.requestTimeoutMs),
    },
    // What Node's HTTP parser refuses (timeout, oversized headers, broken framing) is answered in
    // the error envelope too, where the connection still allows an answer.
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
      if (socket.writable && !started) {
        const { status, reason, body } = clientErrorAnswer(error);
        const text = JSON.stringify(body);
        socket.write(
          `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
            `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
        );
      }
      socket.destroy();
    },
    // No route has a regex parameter, so a long parameter costs nothing; it reaches the route and
    // is answered there (an over-long session id is a malformed one: 404 SESSION_NOT_FOUND).
    // Node's header limit already bounds the URL.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 16_384 },
    // Errors the router raises before any route runs (a parameter with broken %-encoding) get
    // the envelope too, instead of Fastify's own body.
    frameworkErrors: (error, request, reply) => {
      const appError = frameworkError(error, request.url, MALFORMED_ID);
      void (reply as FastifyReply).status(appError.status).send(envelope(appError));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The order is the order of the hooks: drain first, then ids, then authentication.
  await app.register(shutdown, { lifecycle: deps.lifecycle, graceMs: deps.settings.shutdownGraceMs });
  await app.register(requestLog, { requestMetrics: deps.requestMetrics, logAccess: deps.logAccess });
  await app.register(validationAndErrors);
  await app.register(bodyParsing);
  await app.register(idNormalisation);
  await app.register(security, deps);
  await app.register(notFound, { requestMetrics: deps.requestMetrics });
  await app.register(openApi, { version: deps.version });

  await app.register(healthRoutes, deps);
  await app.register(
    async (sessionsApi: App) => {
      await sessionsApi.register(sessionRoutes, deps);
      await sessionsApi.register(messageRoutes, deps);
      await sessionsApi.register(replyControlRoutes, deps);
      await sessionsApi.register(eventRoutes, deps);
      await sessionsApi.register(exportRoutes, deps);
    },
    { prefix: SESSIONS_PATH },
  );
  await app.register(searchRoutes, { ...deps, prefix: SEARCH_PATH });
  await app.register(agentRoutes, { ...deps, prefix: AGENTS_PATH });
  await app.register(keyRoutes, { ...deps, prefix: KEYS_PATH });
  await app.register(webhookRoutes, { ...deps, prefix: WEBHOOKS_PATH });
  await app.register(metricsRoutes, deps);
  await app.register(webRoutes, deps);
  return app;
}
