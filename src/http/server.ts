/**
 * The Fastify instance: body parsing, validation, the error envelope, 404/405, the OpenAPI
 * document and Swagger UI, then the route plugins. Routes stay thin: parse, call a service,
 * shape the answer.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyInstance, type FastifyServerOptions, type onResponseHookHandler } from 'fastify';
import FindMyWay from 'find-my-way';
import { AppError } from '../domain/errors.js';
import { BODY_MAX_DEPTH, inspectJson } from '../domain/validation.js';
import { compileStrictText, makeAjv } from './ajv.js';
import { installSecurity, redactUrl, SECURITY_SCHEMES } from './auth.js';
import { clientErrorAnswer, envelope, frameworkError, toAppError } from './errors.js';
import { installIdNormalisation } from './ids.js';
import { describeFailure } from './unavailable.js';
import { recordRequest } from '../observability/metrics.js';
import type { EventStream } from './sse.js';
import type { Deps } from './deps.js';
import { agentRoutes } from './routes/agents.js';
import { eventRoutes } from './routes/events.js';
import { exportRoutes } from './routes/export.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { messageRoutes } from './routes/messages.js';
import { replyControlRoutes } from './routes/reply-control.js';
import { metricsRoutes } from './routes/metrics.js';
import { searchRoutes } from './routes/search.js';
import { sessionRoutes } from './routes/sessions.js';
import { webRoutes } from './routes/web.js';
import { webhookRoutes } from './routes/webhooks.js';

export const BODY_LIMIT_BYTES = 65_536;
/** The `retry:` hint (ms) of event streams ended by a shutdown. */
export const RECONNECT_AFTER_MS = 1000;

/**
 * Headers of every /docs answer (Swagger UI). Its page loads only its own scripts and styles
 * (the UI sets inline style attributes, hence 'unsafe-inline' for styles only) and talks only to
 * this origin ("Try it out").
 */
export const DOCS_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; " +
    "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** Decodes request bodies; throws on any byte sequence that is not UTF-8. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The `charset` parameter of a Content-Type header, lower case and unquoted; undefined if none. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? '');
  return match ? match[2]!.toLowerCase() : undefined;
}

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
    // Draining is answered by the onRequest hook below, with the error envelope.
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
    clientErrorHandler: (error: Error & { code?: string }, socket: import('node:net').Socket) => {
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
      const appError = frameworkError(error, request.url);
      void (reply as FastifyReply).status(appError.status).send(envelope(appError));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.decorate('eventStreams', new Set<EventStream>());
  // Graceful close (SIGTERM, a rolling restart): from the moment the drain starts, new requests
  // are answered 503 with `Connection: close` (a load balancer retries them on another
  // instance), event streams end with a `retry:` hint so clients reconnect elsewhere and resume
  // with Last-Event-ID, requests in flight get the grace period to finish, then every
  // connection is closed (a client's idle keep-alive would otherwise hold the close open).
  let inFlight = 0;
  app.addHook('onRequest', async (request, reply) => {
    if (deps.lifecycle.draining) {
      reply.header('connection', 'close').header('retry-after', '1');
      return reply.status(503).send(envelope(new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down', 'Retry on another instance')));
    }
    inFlight++;
    reply.raw.once('close', () => inFlight--);
  });
  app.addHook('preClose', async () => {
    for (const stream of app.eventStreams) if (stream.resumable) stream.end(RECONNECT_AFTER_MS);
    const deadline = Date.now() + deps.settings.shutdownGraceMs + 2000;
    while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const stream of app.eventStreams) stream.end();
    app.server.closeAllConnections();
  });

  // Request metrics per route pattern: each route gets its own onResponse hook knowing its
  // pattern, a plain callback (cheaper than an async hook or `request.routeOptions`, which
  // builds an object on every read). Unknown paths are counted by the not-found handler.
  if (deps.requestMetrics) {
    app.addHook('onRoute', (route) => {
      const pattern = route.url;
      const record: onResponseHookHandler = (request, reply, done) => {
        recordRequest(request.method, pattern, reply.statusCode, reply.elapsedTime / 1000);
        done();
      };
      route.onResponse = [...(route.onResponse ? [route.onResponse].flat() : []), record] as typeof route.onResponse;
    });
  }

  // Bodies are never coerced ("30" is not a number); query strings and path parameters are.
  const bodyAjv = makeAjv({ coerceTypes: false, allErrors: true });
  const paramAjv = makeAjv({ coerceTypes: true, allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : compileStrictText(paramAjv, schema as Record<string, unknown>),
  );

  // JSON bodies: an empty body is no body (renew/heartbeat/DELETE clients send the header
  // anyway); prototype-polluting keys are refused anywhere in the document.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    if ((raw as Buffer).length === 0) return done(null, undefined);
    // JSON is UTF-8 (RFC 8259): another declared charset is refused, not guessed at.
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be application/json', `charset ${charset} is not supported: use utf-8`), undefined);
    }
    let text: string;
    try {
      text = strictUtf8.decode(raw as Buffer);
    } catch {
      // Bytes that are not UTF-8 would otherwise become U+FFFD and be stored as a different text.
      return done(new AppError('VALIDATION_ERROR', 'Invalid request', 'The request body is not valid UTF-8'), undefined);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return done(new AppError('INVALID_JSON', 'Request body is not valid JSON'), undefined);
    }
    // Every body of this API is an object; the routes that take none (renew, heartbeat, DELETE)
    // must not act on `[]` or `"x"` either.
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return done(new AppError('VALIDATION_ERROR', 'Invalid request', 'The request body must be a JSON object'), undefined);
    }
    const { forbiddenKey, depth, nulAt } = inspectJson(body);
    // No text of the API may hold a NUL (PostgreSQL cannot store one; SPEC §5 refuses it in content).
    if (nulAt) return done(new AppError('VALIDATION_ERROR', 'Invalid request', `${nulAt}: the NUL character is not allowed`), undefined);
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
    // The store or Redis away: 503, quickly (the pool's connect and statement limits bound it).
    const appError = describeFailure(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(appError.status).send(envelope(appError));
  });

  installIdNormalisation(app);
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
    if (deps.requestMetrics) {
      reply.raw.once('finish', () => recordRequest(request.method, undefined, reply.statusCode, reply.elapsedTime / 1000));
    }
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
        description:
          'Durable conversation sessions between users and AI agents (elizaOS Sessions API). Every refusal is the ' +
          'error envelope `{success:false, error:{code, message, details?}}`; besides the answers listed per ' +
          'operation, any request may get 408 REQUEST_TIMEOUT (headers and body not in within ' +
          'REQUEST_TIMEOUT_SECONDS), 431 (headers too large) or 400 (broken HTTP framing).',
      },
      tags: [
        { name: 'sessions', description: 'Session lifecycle' },
        { name: 'messages', description: 'Messages and history' },
        { name: 'agents', description: 'Agents and their providers' },
        { name: 'health', description: 'Health and liveness' },
        { name: 'keys', description: 'API keys' },
        { name: 'webhooks', description: 'Webhooks: events pushed to other systems (docs/webhooks.md)' },
      ],
      components: { securitySchemes: SECURITY_SCHEMES },
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    },
  });
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, auth: 'public' };
    });
    // The same protection as the web app, on the same origin: no framing, no sniffing, no
    // referrer, and a policy that lets Swagger UI run its own files and nothing else.
    docs.addHook('onSend', async (_request, reply, payload) => {
      void reply.headers(DOCS_SECURITY_HEADERS);
      return payload;
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });
  app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'public' } }, async () => app.swagger());

  await app.register(healthRoutes, deps);
  await app.register(sessionRoutes, deps);
  await app.register(messageRoutes, deps);
  await app.register(replyControlRoutes, deps);
  await app.register(eventRoutes, deps);
  await app.register(exportRoutes, deps);
  await app.register(searchRoutes, deps);
  await app.register(agentRoutes, deps);
  await app.register(keyRoutes, deps);
  await app.register(webhookRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(webRoutes, deps);
  return app;
}
