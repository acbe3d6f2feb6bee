/**
 * The webhooks use cases (SPEC §11): create, list, read, change and delete webhooks, and read
 * their delivery log. The deliveries themselves are queued by the store with each event.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AppError, agentNotFound } from '../domain/errors.js';
import { eventIdOf, type Delivery, type DeliveryStatus, type Webhook, type WebhookEvents } from '../domain/webhook.js';
import { isUuid } from '../domain/validation.js';
import type { Store } from '../store/store.js';

export interface WebhookInput {
  url: string;
  events: string[];
  agentId?: string | null;
  secretEnv?: string | null;
  description?: string;
  enabled?: boolean;
}

export type WebhookPatch = Partial<WebhookInput>;

const webhookNotFound = (webhookId: string): AppError => new AppError('NOT_FOUND', 'Webhook not found', undefined, { webhookId });

/** `["*"]` stands alone: a list naming `*` beside other types is ambiguous. */
function checkEvents(events: string[]): WebhookEvents {
  if (events.includes('*') && events.length > 1) {
    throw new AppError('VALIDATION_ERROR', 'events: "*" stands alone (["*"] is every event type)', 'events');
  }
  return events as WebhookEvents;
}

export function toWebhookView(w: Webhook) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    agentId: w.agentId,
    secretEnv: w.secretEnv,
    description: w.description,
    enabled: w.enabled,
    createdAt: new Date(w.createdAt).toISOString(),
    updatedAt: new Date(w.updatedAt).toISOString(),
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toDeliveryView(d: Delivery) {
  return {
    eventId: eventIdOf(d),
    type: d.type,
    sessionId: d.sessionId,
    status: d.status,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    deliveredAt: iso(d.deliveredAt),
    createdAt: new Date(d.createdAt).toISOString(),
  };
}

export class WebhookService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async create(input: WebhookInput): Promise<Webhook> {
    const now = this.clock.now();
    const webhook: Webhook = {
      id: randomUUID(),
      url: input.url,
      events: checkEvents(input.events),
      agentId: await this.agentIdOf(input.agentId),
      secretEnv: input.secretEnv ?? null,
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.webhooks.insert(webhook);
    return webhook;
  }

  list(): Promise<Webhook[]> {
    return this.store.webhooks.list();
  }

  async get(id: string): Promise<Webhook> {
    const webhook = isUuid(id) ? await this.store.webhooks.get(id.toLowerCase()) : undefined;
    if (!webhook) throw webhookNotFound(id);
    return webhook;
  }

  async update(id: string, patch: WebhookPatch): Promise<Webhook> {
    const current = await this.get(id);
    const next: Webhook = {
      ...current,
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.events !== undefined ? { events: checkEvents(patch.events) } : {}),
      ...(patch.agentId !== undefined ? { agentId: await this.agentIdOf(patch.agentId) } : {}),
      ...(patch.secretEnv !== undefined ? { secretEnv: patch.secretEnv } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      updatedAt: this.clock.now(),
    };
    if (!(await this.store.webhooks.update(next))) throw webhookNotFound(id);
    return next;
  }

  /** Deletes the webhook; its pending deliveries are dropped with it. */
  async delete(id: string): Promise<void> {
    const deleted = isUuid(id) && (await this.store.webhooks.delete(id.toLowerCase()));
    if (!deleted) throw webhookNotFound(id);
  }

  async deliveries(id: string, query: { status?: DeliveryStatus; limit: number }): Promise<Delivery[]> {
    const webhook = await this.get(id);
    return this.store.deliveries.list(webhook.id, query);
  }

  /** A webhook limited to one agent's sessions names an agent that exists. */
  private async agentIdOf(agentId: string | null | undefined): Promise<string | null> {
    if (agentId === undefined || agentId === null) return null;
    const id = agentId.toLowerCase();
    if (!(await this.store.getAgent(id))) throw agentNotFound(id);
    return id;
  }
}
