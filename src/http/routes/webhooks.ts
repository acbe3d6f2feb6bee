/** /api/webhooks (SPEC §11): create, list, read, change and delete webhooks; their delivery log. */
import { Type } from 'typebox';
import { DELIVERY_STATUSES, DESCRIPTION_MAX_LENGTH, WEBHOOK_EVENT_TYPES } from '../../domain/webhook.js';
import { toDeliveryView, toWebhookView } from '../../outbound/webhooks.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { EnvName, HttpUrl, Literals } from '../schemas.js';
import type { App } from '../types.js';

const tags = ['webhooks'];
const Uuid = Type.String({ format: 'uuid' });
const DateTime = Type.String({ format: 'date-time' });

const EventType = Literals([...WEBHOOK_EVENT_TYPES, '*'], {
  description: 'An event type (message.chunk is never delivered), or "*" alone for every type',
});
const Events = Type.Array(EventType, { minItems: 1, uniqueItems: true });

const fields = {
  url: HttpUrl,
  events: Events,
  agentId: Type.Optional(Type.Union([Uuid, Type.Null()], { description: "Only this agent's sessions; null: every session" })),
  secretEnv: Type.Optional(Type.Union([EnvName, Type.Null()], { description: 'The variable holding the signing secret; null: unsigned' })),
  description: Type.Optional(Type.String({ maxLength: DESCRIPTION_MAX_LENGTH })),
  enabled: Type.Optional(Type.Boolean({ default: true })),
};

const CreateWebhookBody = Type.Object(fields, { additionalProperties: false });
const PatchWebhookBody = Type.Object(
  { ...fields, url: Type.Optional(HttpUrl), events: Type.Optional(Events) },
  { additionalProperties: false },
);

const WebhookView = Type.Object({
  id: Uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  agentId: Type.Union([Type.String(), Type.Null()]),
  secretEnv: Type.Union([Type.String(), Type.Null()]),
  description: Type.String(),
  enabled: Type.Boolean(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const Status = Literals(DELIVERY_STATUSES);
const DeliveryView = Type.Object({
  eventId: Type.String({ description: '"<sessionId>:<seq>", the X-Event-Id of every attempt' }),
  type: Type.String(),
  sessionId: Uuid,
  status: Status,
  attempts: Type.Integer(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's HTTP status at the last attempt" }),
  lastError: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([DateTime, Type.Null()], { description: 'When pending: the next attempt' }),
  deliveredAt: Type.Union([DateTime, Type.Null()]),
  createdAt: DateTime,
});
const DeliveriesQuery = Type.Object({
  status: Type.Optional(Status),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});

const WebhookIdParams = Type.Object({ webhookId: Type.String() });

const rule = { auth: { scope: 'webhooks:manage' as const } };

export async function webhookRoutes(app: App, deps: Deps): Promise<void> {
  const { webhooks } = deps;

  app.post(
    '/',
    {
      config: rule,
      schema: {
        tags,
        summary: 'Create a webhook',
        description: 'Every matching event stored from now on is POSTed to `url` (docs/webhooks.md).',
        operationId: 'createWebhook',
        body: CreateWebhookBody,
        response: responses({ 201: WebhookView }, [400, 404, 413, 415]),
      },
    },
    async (request, reply) => reply.status(201).send(toWebhookView(await webhooks.create(request.body))),
  );

  app.get(
    '/',
    {
      config: rule,
      schema: {
        tags,
        summary: 'List webhooks, oldest first',
        operationId: 'listWebhooks',
        response: responses({ 200: Type.Object({ webhooks: Type.Array(WebhookView) }) }, []),
      },
    },
    async () => ({ webhooks: (await webhooks.list()).map(toWebhookView) }),
  );

  app.get(
    '/:webhookId',
    {
      config: rule,
      schema: {
        tags,
        summary: 'Get a webhook',
        operationId: 'getWebhook',
        params: WebhookIdParams,
        response: responses({ 200: WebhookView }, [404]),
      },
    },
    async (request) => toWebhookView(await webhooks.get(request.params.webhookId)),
  );

  app.patch(
    '/:webhookId',
    {
      config: rule,
      schema: {
        tags,
        summary: 'Change a webhook (the fields given)',
        description: 'A disabled webhook queues nothing; its deliveries already queued wait until it is enabled again.',
        operationId: 'updateWebhook',
        params: WebhookIdParams,
        body: PatchWebhookBody,
        response: responses({ 200: WebhookView }, [400, 404, 413, 415]),
      },
    },
    async (request) => toWebhookView(await webhooks.update(request.params.webhookId, request.body)),
  );

  app.delete(
    '/:webhookId',
    {
      config: rule,
      schema: {
        tags,
        summary: 'Delete a webhook and drop its pending deliveries',
        operationId: 'deleteWebhook',
        params: WebhookIdParams,
        response: responses({ 200: Type.Object({ success: Type.Literal(true) }) }, [404]),
      },
    },
    async (request) => {
      await webhooks.delete(request.params.webhookId);
      return { success: true as const };
    },
  );

  app.get(
    '/:webhookId/deliveries',
    {
      config: rule,
      schema: {
        tags,
        summary: "A webhook's deliveries, newest first",
        operationId: 'listWebhookDeliveries',
        params: WebhookIdParams,
        querystring: DeliveriesQuery,
        response: responses({ 200: Type.Object({ deliveries: Type.Array(DeliveryView) }) }, [400, 404]),
      },
    },
    async (request) => {
      const { status, limit = 50 } = request.query;
      const list = await webhooks.deliveries(request.params.webhookId, { ...(status ? { status } : {}), limit });
      return { deliveries: list.map(toDeliveryView) };
    },
  );
}
