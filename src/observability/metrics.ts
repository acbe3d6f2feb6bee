/**
 * Process-wide Prometheus metrics: HTTP requests per route, event deliveries, store and Redis
 * round trips, the agent providers' and Node's own. They live in a
 * module-level registry rather than prom-client's global one, so `/metrics` exposes exactly
 * this registry plus the application's session gauges, and several servers in one test process
 * share counters without clashing names.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
// Node's own figures (event-loop lag, heap, CPU, handles), once per process.
collectDefaultMetrics({ register: registry });

/** Outcome labels of a reply: `ok`, or the AgentError code (AGENT_TIMEOUT, …). */
export const agentReplies = new Counter({
  name: 'agent_replies_total',
  help: 'Agent replies attempted, by provider type and outcome (ok or the agent error code)',
  labelNames: ['provider', 'outcome'] as const,
  registers: [registry],
});

export const agentFailures = new Counter({
  name: 'agent_failures_total',
  help: 'Agent replies that failed, by provider type and agent error code',
  labelNames: ['provider', 'code'] as const,
  registers: [registry],
});

export const agentReplyDuration = new Histogram({
  name: 'agent_reply_duration_seconds',
  help: 'Time from calling the provider to the reply being stored (or failing), by provider type and outcome',
  labelNames: ['provider', 'outcome'] as const,
  // Model replies take from under a second to a few minutes; the default buckets stop at 10 s.
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [registry],
});

export const agentFirstChunk = new Histogram({
  name: 'agent_first_chunk_seconds',
  help: 'Time from calling the provider to its first streamed chunk, by provider type',
  labelNames: ['provider'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

/** Records one finished reply attempt. `code` is undefined on success. */
export function recordReply(provider: string, startedAt: number, code: string | undefined): void {
  const outcome = code ?? 'ok';
  agentReplies.inc({ provider, outcome });
  agentReplyDuration.observe({ provider, outcome }, (performance.now() - startedAt) / 1000);
  if (code !== undefined) agentFailures.inc({ provider, code });
}

/**
 * Per route pattern (`/api/messaging/sessions/:sessionId`, never the URL itself) and status: the
 * histogram's `_count` series are the request counts, so one update per request covers both (a
 * separate counter would double the cost on the hot path).
 */
export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time to answer an HTTP request, by method, route pattern and status code (event streams: until the headers); _count is the number of requests',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

/** Recorded once per answered request; requests no route matched are `route="unmatched"`. */
export function recordRequest(method: string, route: string | undefined, status: number, seconds: number): void {
  httpRequestDuration.observe({ method, route: route ?? 'unmatched', status }, seconds);
}

export const eventsDelivered = new Counter({
  name: 'events_delivered_total',
  help: 'Session events delivered by this instance: to each SSE stream, and to each Socket.IO room',
  labelNames: ['transport'] as const,
  registers: [registry],
});

export const backendRoundTrip = new Histogram({
  name: 'backend_roundtrip_seconds',
  help: 'Round-trip time of a ping to the store or Redis (readiness, health and metrics checks)',
  labelNames: ['backend'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

/** Runs a ping and records its round-trip time when it succeeds. */
export async function timedPing(backend: 'store' | 'redis', ping: () => Promise<void>): Promise<void> {
  const started = performance.now();
  await ping();
  backendRoundTrip.observe({ backend }, (performance.now() - started) / 1000);
}
