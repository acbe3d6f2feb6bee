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
const agentReplies = new Counter({
  name: 'agent_replies_total',
  help: 'Agent replies attempted, by provider type and outcome (ok or the agent error code)',
  labelNames: ['provider', 'outcome'] as const,
  registers: [registry],
});

const agentFailures = new Counter({
  name: 'agent_failures_total',
  help: 'Agent replies that failed, by provider type and agent error code',
  labelNames: ['provider', 'code'] as const,
  registers: [registry],
});

const agentReplyDuration = new Histogram({
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

const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * `http_request_duration_seconds{method,route,status}`: a Prometheus histogram per route pattern
 * (`/api/messaging/sessions/:sessionId`, never the URL itself) and status, whose `_count` series
 * are the request counts. Kept by hand rather than as a prom-client Histogram, whose label
 * hashing on every observation cost more than the rest of the recording on GET session; the
 * registry still formats it like any other metric.
 */
class RequestHistogram {
  readonly name = 'http_request_duration_seconds';
  readonly help =
    'Time to answer an HTTP request, by method, route pattern and status code (event streams: until the headers); _count is the number of requests';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** `method status route` → that series' bucket counts (not cumulative), sum and count. */
  private readonly series = new Map<string, { labels: Record<string, string>; buckets: Float64Array; sum: number; count: number }>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { method, route, status: String(status) }, buckets: new Float64Array(REQUEST_BUCKETS.length), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    let i = 0;
    while (i < REQUEST_BUCKETS.length && seconds > REQUEST_BUCKETS[i]!) i++;
    if (i < REQUEST_BUCKETS.length) series.buckets[i]!++;
    series.sum += seconds;
    series.count++;
  }

  get() {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const { labels, buckets, sum, count } of this.series.values()) {
      let cumulative = 0;
      REQUEST_BUCKETS.forEach((le, i) => {
        cumulative += buckets[i]!;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

const httpRequestDuration = new RequestHistogram();
registry.registerMetric(httpRequestDuration as unknown as Parameters<Registry['registerMetric']>[0]);

/** Recorded once per answered request; requests no route matched are `route="unmatched"`. */
export function recordRequest(method: string, route: string | undefined, status: number, seconds: number): void {
  httpRequestDuration.observe(method, route ?? 'unmatched', status, seconds);
}

export const eventsDelivered = new Counter({
  name: 'events_delivered_total',
  help: 'Session events delivered by this instance: to each SSE stream, and to each Socket.IO room',
  labelNames: ['transport'] as const,
  registers: [registry],
});

const backendRoundTrip = new Histogram({
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
