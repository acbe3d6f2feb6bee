/**
 * Webhooks (SPEC §11): what one is, which events it receives, and when a failed delivery is
 * tried again. Pure: no I/O, `now` passed in.
 */

/** The event types a webhook may name; `message.chunk` is never delivered. */
export const WEBHOOK_EVENT_TYPES = [
  'session.created',
  'session.warning',
  'session.expired',
  'session.renewed',
  'session.ended',
  'message.created',
  'message.cancelled',
] as const;

type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** `["*"]`: every type of WEBHOOK_EVENT_TYPES, those added later included. */
export type WebhookEvents = ['*'] | WebhookEventType[];

export interface Webhook {
  id: string;
  url: string;
  events: WebhookEvents;
  agentId: string | null;
  secretEnv: string | null;
  description: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export const DESCRIPTION_MAX_LENGTH = 200;

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

/** A delivery as stored: the event it carries, and how its attempts went. */
export interface Delivery {
  webhookId: string;
  sessionId: string;
  seq: number;
  type: string;
  /** Epoch ms of the event. */
  at: number;
  data: unknown;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: number;
  deliveredAt: number | null;
  createdAt: number;
}

/** The id receivers deduplicate by: the same on every attempt. */
export const eventIdOf = (d: Pick<Delivery, 'sessionId' | 'seq'>): string => `${d.sessionId}:${d.seq}`;

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_INTERVAL_MS = 10 * 60_000;

/** The wait after the `attempts`-th failed attempt: 1 s, doubling, at most 10 min. */
function retryDelayMs(attempts: number): number {
  const exponent = Math.max(0, attempts - 1);
  return exponent >= 20 ? MAX_RETRY_INTERVAL_MS : Math.min(MAX_RETRY_INTERVAL_MS, FIRST_RETRY_MS * 2 ** exponent);
}

/**
 * What follows a failed attempt: the next one, or the end when it would fall past the
 * delivery's maximum age (counted from the event).
 */
export function afterFailure(
  delivery: Pick<Delivery, 'createdAt' | 'attempts'>,
  now: number,
  maxAgeMs: number,
): { status: 'pending'; nextAttemptAt: number } | { status: 'failed' } {
  const attempts = delivery.attempts + 1;
  const nextAttemptAt = now + retryDelayMs(attempts);
  if (nextAttemptAt >= delivery.createdAt + maxAgeMs) return { status: 'failed' };
  return { status: 'pending', nextAttemptAt };
}
