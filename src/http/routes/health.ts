/**
 * Health: the sessions health report (503 when the store is unreachable), liveness (`/healthz`:
 * the process answers) and readiness (`/readyz`: the store and Redis answer, migrations are
 * done, and the instance is not draining), which is what a load balancer routes by.
 */
import { Type } from 'typebox';
import type { Deps } from '../deps.js';
import { SESSIONS_PATH } from '../paths.js';
import { ErrorEnvelope, SessionsHealth } from '../schemas.js';
import type { App } from '../types.js';

export async function healthRoutes(app: App, deps: Deps): Promise<void> {
  const { health, lifecycle } = deps;

  app.get(
    `${SESSIONS_PATH}/health`,
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
      const now = health.now();
      const base = { timestamp: new Date(now).toISOString(), uptime: health.uptimeSeconds() };
      try {
        const { activeSessions, expiringSoon, expiryBacklog } = await health.sessionCounts(now);
        return { status: 'healthy' as const, activeSessions, expiringSoon, invalidSessions: expiryBacklog, ...base };
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

  app.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness for load balancers',
        description:
          '200 when this instance can serve: migrations are done (it listens only after them), the store and ' +
          'Redis (if configured) answer within 2 s, and it is not shutting down. Otherwise 503 ' +
          '`SERVICE_UNAVAILABLE`, `details` naming the cause. Public, like `/healthz`.',
        response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: ErrorEnvelope },
      },
    },
    async (_request, reply) => {
      const unavailable = (details: string) =>
        reply.status(503).send({ success: false as const, error: { code: 'SERVICE_UNAVAILABLE', message: 'Not ready', details } });
      if (lifecycle.stopping || lifecycle.draining) return unavailable('The instance is shutting down');
      const found = await health.unreadyCauses();
      if (found.length > 0) return unavailable(found.join('; '));
      if (lifecycle.stopping || lifecycle.draining) return unavailable('The instance is shutting down');
      return { status: 'ready' as const };
    },
  );
}
