/** Webhook delivery figures, in the process-wide registry that /metrics exposes. */
import { Counter, Histogram } from 'prom-client';
import { registry } from '../observability/metrics.js';

export const webhookAttempts = new Counter({
  name: 'webhook_delivery_attempts_total',
  help: 'Webhook delivery attempts, by outcome (delivered, retry, failed)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const webhookDelivered = new Counter({
  name: 'webhook_deliveries_delivered_total',
  help: 'Webhook deliveries answered 2xx',
  registers: [registry],
});

export const webhookFailed = new Counter({
  name: 'webhook_deliveries_failed_total',
  help: 'Webhook deliveries given up after WEBHOOK_MAX_AGE_HOURS of retries',
  registers: [registry],
});

export const webhookLag = new Histogram({
  name: 'webhook_delivery_lag_seconds',
  help: 'Time from an event to its delivery being answered 2xx',
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600],
  registers: [registry],
});
