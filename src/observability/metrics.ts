/**
 * Process-wide Prometheus metrics: the agent providers' and Node's own. They live in a
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
