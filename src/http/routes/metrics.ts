/**
 * Prometheus metrics (`metrics:read`): the process-wide registry (agent replies, Node process)
 * plus this instance's session gauges, read from the store at scrape time so that every
 * instance reports the same shared truth.
 */
import { Gauge, Registry } from 'prom-client';
import { Type } from 'typebox';
import { registry as processRegistry } from '../../observability/metrics.js';
import type { Deps } from '../deps.js';
import type { App } from '../types.js';

export async function metricsRoutes(app: App, deps: Deps): Promise<void> {
  const { health } = deps;
  // Per application, not module-level: several servers in one process must not share gauges.
  // The store-derived gauges live apart so that a scrape without a store omits them rather
  // than reporting zeros nobody measured.
  const instanceRegistry = new Registry();
  const storeRegistry = new Registry();
  const gauge = (registry: Registry, name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  const storeUp = gauge(
    instanceRegistry,
    'sessions_store_up',
    '1 when the session store (and Redis, if configured) answered this scrape, else 0',
  );
  const streams = gauge(instanceRegistry, 'sessions_event_streams_open', 'Server-Sent Event streams open on this instance');
  const active = gauge(storeRegistry, 'sessions_active', 'Sessions not yet expired (all instances)');
  const expiringSoon = gauge(storeRegistry, 'sessions_expiring_soon', 'Active sessions inside their warning window (all instances)');
  const backlog = gauge(
    storeRegistry,
    'sessions_expiry_backlog',
    'Sessions past expiresAt whose expiry the scheduler has not processed yet',
  );

  app.get(
    '/metrics',
    {
      config: { auth: { scope: 'metrics:read' } },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics',
        description: 'Prometheus text exposition format 0.0.4.',
        operationId: 'getMetrics',
        response: { 200: { description: 'Metrics', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (request, reply) => {
      streams.set(app.eventStreams.size);
      let text = await processRegistry.metrics();
      try {
        const counts = await health.scrape();
        active.set(counts.activeSessions);
        expiringSoon.set(counts.expiringSoon);
        backlog.set(counts.expiryBacklog);
        storeUp.set(1);
        text += await storeRegistry.metrics();
      } catch (error) {
        // Metrics stay available when the store is down: that is when they matter most.
        request.log.error({ err: error }, 'metrics: store or Redis unreachable');
        storeUp.set(0);
      }
      text += await instanceRegistry.metrics();
      return reply.type(processRegistry.contentType).send(text);
    },
  );
}
