/**
 * The OpenAPI document (`/openapi.json`, generated from the routes' TypeBox schemas) and Swagger
 * UI at `/docs`, both public.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SECURITY_SCHEMES } from '../auth.js';
import { unencapsulated, type App } from '../types.js';

/**
 * Headers of every /docs answer (Swagger UI). Its page loads only its own scripts and styles
 * (the UI sets inline style attributes, hence 'unsafe-inline' for styles only) and talks only to
 * this origin ("Try it out").
 */
const DOCS_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; " +
    "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** Registered before the routes: @fastify/swagger collects them as they are added. */
export const openApi = unencapsulated('openapi', async (app: App, options: { version: string }) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agent-sessions',
        version: options.version,
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
});
