/** Health: the sessions health report (503 when the store is unreachable) and liveness. */
import { Type } from 'typebox';
import type { Deps } from '../deps.js';
import { ErrorEnvelope, SessionsHealth } from '../schemas.js';
import type { App } from '../server.js';

export async function healthRoutes(app: App, deps: Deps): Promise<void> {
  const { store, fanout, clock, startedAt } = deps;

  app.get(
    '/api/messaging/sessions/health',
    {
      config: { auth: { scope: 'sessions:health' } },
      schema: {
        tags: ['health'],
        summary: 'Sessions service health',
        operationId: 'checkSessionsHealth',
        response: {
          200: SessionsHealth,
          // Unhealthy: the health fields and the error envelope together.
          503: Type.Intersect([SessionsHealth, ErrorEnvelope]),
        },
      },
    },
    async (request, reply) => {
      const now = clock.now();
      const base = { timestamp: new Date(now).toISOString(), uptime: Math.floor((Date.now() - startedAt) / 1000) };
      try {
        const [counts] = await Promise.all([store.healthCounts(now), fanout.ping()]);
        return { status: 'healthy' as const, ...counts, ...base };
      } catch (error) {
        request.log.error({ err: error }, 'health check: store or Redis unreachable');
        return reply.status(503).send({
          status: 'unhealthy' as const,
          activeSessions: 0,
          expiringSoon: 0,
          invalidSessions: 0,
          ...base,
          success: false as const,
          error: { code: 'SERVICE_UNAVAILABLE', message: 'The session store or Redis is unreachable' },
        });
      }
    },
  );

  app.get(
    '/healthz',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Liveness for load balancers',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
}
