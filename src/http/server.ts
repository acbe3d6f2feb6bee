/**
 * The Fastify instance: body parsing, validation, the error envelope, 404/405, the OpenAPI
 * document and Swagger UI, then the route plugins. Routes stay thin: parse, call a service,
 * shape the answer.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import FindMyWay from 'find-my-way';
import { AppError } from '../domain/errors.js';
import { BODY_MAX_DEPTH, inspectJson } from '../domain/validation.js';
import { makeAjv } from './ajv.js';
import { installSecurity, redactUrl, SECURITY_SCHEMES } from './auth.js';
import { envelope, frameworkError, toAppError } from './errors.js';
import type { EventStream } from './sse.js';
import type { Deps } from './deps.js';
import { agentRoutes } from './routes/agents.js';
import { eventRoutes } from './routes/events.js';
import { exportRoutes } from './routes/export.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { messageRoutes } from './routes/messages.js';
import { metricsRoutes } from './routes/metrics.js';
import { searchRoutes } from './routes/search.js';
import { sessionRoutes } from './routes/sessions.js';
import { webRoutes } from './routes/web.js';

export const BODY_LIMIT_BYTES = 65_536;

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export async function buildServer(deps: Deps, logger: FastifyServerOptions['logger']): Promise<App> {
  const app = Fastify({
    logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // Fastify's per-request lines are off; access lines come from the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // No route has a regex parameter, so a long parameter costs nothing; it reaches the route and
    // is answered there (an over-long session id is a malformed one: 404 SESSION_NOT_FOUND).
    // Node's header limit already bounds the URL.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 16_384 },
    // Errors the router raises before any route runs (a parameter with broken %-encoding) get
    // the envelope too, instead of Fastify's own body.
    frameworkErrors: (error, request, reply) => {
      const appError = frameworkError(error, request.url);
      void (reply as FastifyReply).status(appError.status).send(envelope(appError));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.decorate('eventStreams', new Set<EventStream>());
  // Graceful close: event streams end, requests in flight get up to 10 s to finish, then every
  // connection is closed (a client's idle keep-alive would otherwise hold the close open).
  let inFlight = 0;
  app.addHook('onRequest', async (_request, reply) => {
    inFlight++;
    reply.raw.once('close', () => inFlight--);
  });
  app.addHook('preClose', async () => {
    for (const stream of app.eventStreams) stream.end();
    for (let waited = 0; inFlight > 0 && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    app.server.closeAllConnections();
  });

  // Bodies are never coerced ("30" is not a number); query strings and path parameters are.
  const bodyAjv = makeAjv({ coerceTypes: false, allErrors: true });
  const paramAjv = makeAjv({ coerceTypes: true, allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : paramAjv).compile(schema),
  );

  // JSON bodies: an empty body is no body (renew/heartbeat/DELETE clients send the header
  // anyway); prototype-polluting keys are refused anywhere in the document.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') return done(null, undefined);
    let body: unknown;
    try {
      body = JSON.parse(text as string);
    } catch {
      return done(new AppError('INVALID_JSON', 'Request body is not valid JSON'), undefined);
    }
    // Every body of this API is an object; the routes that take none (renew, heartbeat, DELETE)
    // must not act on `[]` or `"x"` either.
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return done(new AppError('VALIDATION_ERROR', 'Invalid request', 'The request body must be a JSON object'), undefined);
    }
    const { forbiddenKey, depth } = inspectJson(body);
    if (forbiddenKey) return done(new AppError('VALIDATION_ERROR', 'Invalid request', `${forbiddenKey}: this key is not allowed`), undefined);
    if (depth > BODY_MAX_DEPTH) {
      return done(new AppError('VALIDATION_ERROR', 'Invalid request', `The body nests deeper than ${BODY_MAX_DEPTH} levels`), undefined);
    }
    done(null, body);
  });
  // Every other type is refused (415), text/plain included: Fastify would otherwise hand a
  // text body to the routes as a string. An empty body of any type is still no body.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') return done(null, undefined);
    done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be application/json'), undefined);
  });

  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(appError.status).send(envelope(appError));
  });

  // Before any route is added: every route's auth rule is then enforced and documented.
  await installSecurity(app, deps);

  // A path that exists with other methods answers 405 with Allow; any other path 404.
  const knownPaths = FindMyWay({ ignoreTrailingSlash: true });
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    // A wildcard (Swagger UI's static files) matches every path below it: a file it lacks is
    // unknown (404), not a wrong method.
    if (route.url.includes('*')) return;
    let methods = methodsByPath.get(route.url);
    if (!methods) {
      methods = new Set();
      methodsByPath.set(route.url, methods);
      knownPaths.on('GET', route.url, () => {}, methods);
    }
    for (const method of [route.method].flat()) methods.add(method);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const match = knownPaths.find('GET', path);
    if (match) {
      const allowed = [...(match.store as Set<string>)].sort().join(', ');
      void reply.status(405).header('allow', allowed).send(envelope(new AppError('METHOD_NOT_ALLOWED', `${request.method} is not allowed here`, `Allowed: ${allowed}`)));
      return;
    }
    void reply.status(404).send(envelope(new AppError('NOT_FOUND', `No route for ${request.method} ${path}`)));
  });

  if (deps.logAccess) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug({ method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: reply.elapsedTime }, 'request');
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agent-sessions',
        version: deps.version,
        description: 'Durable conversation sessions between users and AI agents (elizaOS Sessions API).',
      },
      tags: [
        { name: 'sessions', description: 'Session lifecycle' },
        { name: 'messages', description: 'Messages and history' },
        { name: 'agents', description: 'Agents and their providers' },
        { name: 'health', description: 'Health and liveness' },
        { name: 'keys', description: 'API keys' },
      ],
      components: { securitySchemes: SECURITY_SCHEMES },
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    },
  });
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, auth: 'public' };
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });
  app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'public' } }, async () => app.swagger());

  await app.register(healthRoutes, deps);
  await app.register(sessionRoutes, deps);
  await app.register(messageRoutes, deps);
  await app.register(eventRoutes, deps);
  await app.register(exportRoutes, deps);
  await app.register(searchRoutes, deps);
  await app.register(agentRoutes, deps);
  await app.register(keyRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(webRoutes, deps);
  return app;
}
