/**
 * Authentication and authorization of every HTTP request, driven by the route's own
 * `config.auth` (see src/auth/scopes.ts): `'public'`, or `{scope, sessionToken?, queryToken?}`.
 * A route that declares nothing is refused to everyone, so a forgotten declaration fails closed.
 * Also here: CORS (closed unless CORS_ORIGINS names origins) and the OpenAPI security notes.
 */
import cors from '@fastify/cors';
import type { FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { forbidden, unauthorized, type Authenticator, type Principal } from '../auth/authenticator.js';
import { ANY_KEY, type RouteAuth, type RouteRule } from '../auth/scopes.js';
import { AppError } from '../domain/errors.js';
import type { Settings } from '../settings.js';
import type { RequestLimiter } from './rate-limit.js';
import { ErrorEnvelope } from './schemas.js';
import { unencapsulated, type App } from './types.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /**
     * The route creates a session: it also counts for the user and the agent its body names
     * (SPEC §7), once the body is parsed.
     */
    chargeCreate?: boolean;
    /** Every query parameter of the route is a paging one: one that fails validation is INVALID_PAGINATION. */
    paginationQuery?: boolean;
  }
  interface FastifyRequest {
    /** Who is calling, once authorized; null on public routes. */
    principal: Principal | null;
  }
}

export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`ask_…`) or, where the operation allows it, a session token (`ast_…`).',
  },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-KEY', description: 'The same credentials, as elizaOS clients send them.' },
  tokenQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'Only where the operation says so: EventSource cannot set headers.',
  },
} as const;

export interface SecurityDeps {
  auth: Authenticator;
  limiter: RequestLimiter;
  settings: Pick<Settings, 'corsOrigins'>;
}

/**
 * A URL fit for a log line: credentials in the query string are masked. The parameter's name is
 * compared decoded, as the query parser reads it (`%74oken=` is `token=`).
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&])([^=&#]*)=([^&#]*)/g, (pair, separator: string, name: string) =>
    decodedName(name).toLowerCase() === 'token' ? `${separator}${name}=[redacted]` : pair,
  );
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/** The credential a request carries; a header always wins over `?token=`. */
function credentialsOf(request: FastifyRequest, allowQuery: boolean): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined && authorization !== '') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!match) throw unauthorized('Authorization must be "Bearer <token>"');
    return match[1];
  }
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') return apiKey.trim();
  if (allowQuery) {
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    if (typeof token === 'string' && token !== '') return token;
  }
  return undefined;
}

function describeRule(rule: RouteRule): string {
  const who = rule.scope === ANY_KEY ? 'any valid API key' : `an API key with the scope \`${rule.scope}\``;
  const token = rule.ownSessionOnly
    ? ', or a session token (which searches its own session only)'
    : rule.sessionToken
      ? ", or this session's token"
      : '';
  const query = rule.queryToken ? ' The credential may also be given as `?token=`.' : '';
  return `**Requires** ${who}${token}.${query}`;
}

const AUTH_ERRORS: Record<number, string> = {
  401: 'Missing or invalid credentials (UNAUTHORIZED)',
  403: 'Valid credentials without the right to do this (FORBIDDEN)',
  429: 'Rate limited (RATE_LIMITED); see Retry-After and the RateLimit-* headers',
};

/**
 * Before any route is added: every route's auth rule is then enforced and documented. A route
 * whose config says `chargeCreate` gets the create limit as its own preValidation hook.
 */
export const security = unencapsulated('security', async (app: App, deps: SecurityDeps) => {
  const { auth, limiter, settings } = deps;
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    if (route.config?.chargeCreate) {
      const chargeCreate: preValidationAsyncHookHandler = async (request, reply) => {
        if (request.principal) await limiter.chargeCreate(request, reply);
      };
      route.preValidation = [...(route.preValidation ? [route.preValidation].flat() : []), chargeCreate] as typeof route.preValidation;
    }
  });

  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    // The CORS plugin's catch-all preflight route: its answer is given before any auth.
    if (route.url === '*' && methods.includes('OPTIONS')) {
      route.config = { ...route.config, auth: 'public' };
      return;
    }
    const rule = route.config?.auth;
    const schema = route.schema as (Record<string, unknown> & { response?: Record<string, unknown> }) | undefined;
    if (!rule || !schema || schema.hide) return;
    if (rule === 'public') {
      route.schema = { ...schema, security: [] };
      return;
    }
    const response = { ...schema.response };
    for (const [status, description] of Object.entries(AUTH_ERRORS)) response[status] ??= { ...ErrorEnvelope, description };
    route.schema = {
      ...schema,
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }, ...(rule.queryToken ? [{ tokenQuery: [] }] : [])],
      description: [schema.description, describeRule(rule)].filter(Boolean).join('\n\n'),
      response,
    };
  });

  if (settings.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: settings.corsOrigins.includes('*') ? '*' : settings.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'x-api-key', 'content-type', 'idempotency-key', 'last-event-id'],
      exposedHeaders: ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'allow'],
      maxAge: 600,
    });
  }

  app.addHook('onRequest', async (request, reply) => {
    // Unknown paths answer 404/405 whoever asks: they reveal nothing a route list would not.
    if (request.is404) return;
    const rule = request.routeOptions.config.auth;
    if (rule === 'public') return;
    try {
      const allowQuery = rule?.queryToken === true;
      const token = credentialsOf(request, allowQuery);
      // Handlers never see the credential.
      if (allowQuery && request.query) delete (request.query as Record<string, unknown>).token;
      const principal = await auth.authenticate(token);

      let refusal: Error | undefined;
      try {
        if (!rule) throw forbidden('This route is not open to any credentials');
        if (principal.kind === 'session' && rule.sessionToken !== true) throw forbidden('A session token cannot be used here');
        const ownSession = rule.ownSessionOnly === true && principal.kind === 'session' ? principal.sessionId : undefined;
        auth.authorize(principal, rule.scope, ownSession ?? (request.params as { sessionId?: string } | undefined)?.sessionId);
      } catch (error) {
        refusal = error instanceof Error ? error : new Error(String(error));
      }
      await limiter.charge(request, reply, principal, refusal === undefined);
      if (refusal) throw refusal;
      request.principal = principal;
    } catch (error) {
      if (error instanceof AppError && error.code === 'UNAUTHORIZED') void reply.header('www-authenticate', 'Bearer');
      throw error;
    }
  });
});
