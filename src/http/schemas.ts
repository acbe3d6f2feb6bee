/**
 * Request and response schemas (TypeBox → JSON Schema). One source for three jobs: requests are
 * validated against them, responses are serialised by code compiled from them, and the OpenAPI
 * document is generated from them. Bounds come from the settings, so the document always shows
 * the limits the server actually enforces.
 */
import { Type, type Static, type TSchema, type TSchemaOptions, type TUnsafe } from 'typebox';
import { AGENT_SECRET_ENV_PATTERN, AGENT_SECRET_ENV_PREFIX, type ProviderConfig as DomainProviderConfig } from '../domain/agent.js';
import { ERROR_CODES, type ErrorCode } from '../domain/errors.js';
import type { JsonObject } from '../domain/json.js';
import { ATTACHMENT_TYPES } from '../domain/message.js';
import { SESSION_EVENT_TYPES } from '../domain/events.js';
import { REPLY_POLICIES } from '../domain/reply-policy.js';
import {
  CONTENT_MAX_CODE_POINTS,
  HISTORY_LIMIT,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  METADATA_MAX_BYTES,
  METADATA_MAX_DEPTH,
} from '../domain/validation.js';
import { METADATA_KEYWORD } from './ajv.js';
import type { TimeoutBounds } from '../settings.js';

/**
 * One of the given strings, as a union of constants (`anyOf` of `const`s). Typed as the union of
 * the strings: TypeBox infers nothing useful from a mapped array.
 */
export const Literals = <const Values extends readonly string[]>(values: Values, options: TSchemaOptions = {}): TUnsafe<Values[number]> =>
  Type.Unsafe<Values[number]>(
    Type.Union(
      values.map((value) => Type.Literal(value)),
      options,
    ),
  );

const Uuid = (description?: string) => Type.String({ format: 'uuid', description });
const DateTime = (description?: string) => Type.String({ format: 'date-time', description });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** An absolute http(s) URL. */
export const HttpUrl = Type.String({ format: 'uri', pattern: '^[hH][tT][tT][pP][sS]?://', maxLength: 2048 });

const METADATA_DESCRIPTION = `Free-form JSON object (≤${METADATA_MAX_BYTES / 1024} KiB, ≤${METADATA_MAX_DEPTH} levels)`;

/** Metadata as the API returns it. */
const Metadata = Type.Object({}, { additionalProperties: true, description: METADATA_DESCRIPTION });

/** Metadata in a request: SPEC §5's size, depth and key rules (domain/validation.ts) are part of the schema. */
export const metadataInput = (description = `${METADATA_DESCRIPTION}; null means {}`) =>
  Type.Unsafe<JsonObject | null>({ type: ['object', 'null'], additionalProperties: true, description, [METADATA_KEYWORD]: true });
const MetadataInput = metadataInput();

export const ErrorEnvelope = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.Object(
      {
        code: Type.Unsafe<ErrorCode>({ type: 'string', enum: ERROR_CODES, description: 'One of the error codes of the API (SPEC §4)' }),
        message: Type.String(),
        details: Type.Optional(Type.String({ description: 'Which field or limit was at fault' })),
      },
      { additionalProperties: true },
    ),
  },
  { title: 'Error' },
);

export const Success = Type.Object({ success: Type.Literal(true), message: Type.String() });

const TimeoutConfig = Type.Object({
  timeoutMinutes: Type.Integer(),
  autoRenew: Type.Boolean(),
  maxDurationMinutes: Type.Integer(),
  warningThresholdMinutes: Type.Integer(),
});

export function timeoutConfigPatch(bounds: TimeoutBounds) {
  const bounded = (b: { min: number; max: number }, description: string) =>
    Type.Optional(Type.Integer({ minimum: b.min, maximum: b.max, description }));
  return Type.Object(
    {
      timeoutMinutes: bounded(bounds.timeoutMinutes, 'Inactivity timeout in minutes'),
      autoRenew: Type.Optional(Type.Boolean({ description: 'Renew on every message and heartbeat' })),
      maxDurationMinutes: bounded(bounds.maxDurationMinutes, 'Maximum total session duration in minutes'),
      warningThresholdMinutes: bounded(bounds.warningThresholdMinutes, 'Minutes before expiry that count as near expiration'),
    },
    { additionalProperties: false },
  );
}

/** SPEC §10: what a send does while a reply is under way. */
export const ReplyPolicy = Literals(REPLY_POLICIES, {
  description: '`enqueue` (default): wait for the replies under way; `reject`: 409 REPLY_IN_PROGRESS; `interrupt`: cancel them first',
});

export const SessionInfo = Type.Object({
  sessionId: Uuid(),
  channelId: Uuid('One channel per session, for elizaOS clients'),
  agentId: Uuid(),
  userId: Uuid(),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired')]),
  createdAt: DateTime(),
  lastActivity: DateTime(),
  expiresAt: DateTime(),
  timeoutConfig: TimeoutConfig,
  renewalCount: Type.Integer(),
  timeRemaining: Type.Integer({ description: 'Milliseconds until expiry, never negative' }),
  isNearExpiration: Type.Boolean(),
  metadata: Metadata,
  replyPolicy: ReplyPolicy,
});

export function createSessionBody(bounds: TimeoutBounds) {
  return Type.Object({
    agentId: Uuid('The agent to talk to'),
    userId: Uuid('The user the session belongs to'),
    metadata: Type.Optional(MetadataInput),
    timeoutConfig: Type.Optional(timeoutConfigPatch(bounds)),
    replyPolicy: Type.Optional(ReplyPolicy),
  });
}

export const ListSessionsQuery = Type.Object(
  {
    agentId: Type.Optional(Uuid()),
    userId: Type.Optional(Uuid()),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('all')], { default: 'active' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    offset: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Rows to skip (default 0); not with `cursor`' }),
    ),
    cursor: Type.Optional(
      Type.String({
        description: "The previous page's `nextCursor`: the page right after it, at the same cost however deep. Not with `offset`.",
      }),
    ),
    'metadata.<key>': Type.Optional(
      Type.String({
        description:
          'Stands for any number of `metadata.<key>=<value>` parameters (repeatable, at most 16, all must hold): ' +
          "the session's top-level metadata `key` (1–64 characters of A–Z a–z 0–9 _ -) has that value: " +
          'a string as is, a number or a boolean by its JSON text (`metadata.tier=3` matches 3 and "3").',
      }),
    ),
  },
  { additionalProperties: true },
);
export type ListSessionsQuery = Static<typeof ListSessionsQuery> & Record<string, unknown>;

export const SessionList = Type.Object({
  sessions: Type.Array(SessionInfo),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer({ description: 'As requested; 0 when the page was asked for by `cursor`' }),
  nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' })),
  stats: Type.Object({
    totalSessions: Type.Integer(),
    activeSessions: Type.Integer(),
    expiredSessions: Type.Integer(),
  }),
});

export const SessionIdParams = Type.Object({ sessionId: Type.String({ description: 'Session id (UUID)' }) });
export type SessionIdParams = Static<typeof SessionIdParams>;

const Attachment = Type.Object(
  {
    type: Literals(ATTACHMENT_TYPES),
    url: HttpUrl,
    name: Type.Optional(Type.String({ maxLength: 255 })),
    size: Type.Optional(Type.Integer({ minimum: 0 })),
    mimeType: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);

export const Message = Type.Object({
  id: Uuid(),
  content: Type.String(),
  authorId: Uuid(),
  isAgent: Type.Boolean(),
  createdAt: DateTime(),
  metadata: Metadata,
  attachments: Type.Array(Attachment),
});

const TRANSPORTS = ['websocket', 'http', 'sse'] as const;
const MODES = ['websocket', 'sync', 'stream'] as const;

export const SendMessageBody = Type.Object({
  content: Type.String({ minLength: 1, maxLength: CONTENT_MAX_CODE_POINTS, description: 'Inert text, at most 10,000 characters' }),
  attachments: Type.Optional(Type.Array(Attachment, { maxItems: 10 })),
  metadata: Type.Optional(MetadataInput),
  transport: Type.Optional(Literals(TRANSPORTS)),
  mode: Type.Optional(Literals(MODES, { description: 'Legacy alias of transport' })),
  ifBusy: Type.Optional(ReplyPolicy),
});
export type SendMessageBody = Static<typeof SendMessageBody>;

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: `At most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters; a retry returns the first answer` }),
  ),
});

const AgentResponse = Type.Object({
  id: Uuid(),
  text: Type.String(),
  thought: Type.Optional(Type.String()),
  actions: Type.Optional(Type.Array(Type.String())),
  createdAt: DateTime(),
});

export const SessionStatus = Type.Object({
  expiresAt: DateTime(),
  renewalCount: Type.Integer(),
  wasRenewed: Type.Boolean(),
  isNearExpiration: Type.Boolean(),
});

export const SendMessageResponse = Type.Object({
  ...Message.properties,
  userMessage: Message,
  sessionStatus: SessionStatus,
  agentResponse: Type.Optional(AgentResponse),
  agentError: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});

export const HistoryQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: HISTORY_LIMIT.min, maximum: HISTORY_LIMIT.max, default: HISTORY_LIMIT.default })),
  before: Type.Optional(Type.String({ description: 'Epoch milliseconds or ISO-8601 date-time with zone: messages older than this' })),
  after: Type.Optional(Type.String({ description: 'Epoch milliseconds or ISO-8601 date-time with zone: messages newer than this' })),
});
export type HistoryQuery = Static<typeof HistoryQuery>;

export const HistoryPage = Type.Object({
  messages: Type.Array(Message),
  hasMore: Type.Boolean(),
  cursors: Type.Object({
    before: Nullable(Type.Integer({ description: 'Oldest createdAt of the page, epoch ms' })),
    after: Nullable(Type.Integer({ description: 'Newest createdAt of the page, epoch ms' })),
  }),
});

export const SessionsHealth = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  activeSessions: Type.Integer(),
  expiringSoon: Type.Integer(),
  invalidSessions: Type.Integer(),
  timestamp: DateTime(),
  uptime: Type.Number({ description: 'Seconds since start' }),
});

export const SessionEvent = Type.Object({
  type: Literals(SESSION_EVENT_TYPES),
  sessionId: Uuid(),
  seq: Type.Integer({ minimum: 1 }),
  at: DateTime(),
  data: Type.Unknown(),
});

// ---- agents ---------------------------------------------------------------------------------

export const EnvName = Type.String({
  pattern: AGENT_SECRET_ENV_PATTERN,
  maxLength: 128,
  description: `Name of an environment variable of the server; only names starting with ${AGENT_SECRET_ENV_PREFIX} may be used`,
});

const ElizaProvider = Type.Object({ type: Type.Literal('eliza') }, { additionalProperties: false });
const OpenAiProvider = Type.Object(
  {
    type: Type.Literal('openai'),
    baseUrl: HttpUrl,
    model: Type.String({ minLength: 1, maxLength: 200 }),
    apiKeyEnv: Type.Optional(EnvName),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    maxTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
const WebhookProvider = Type.Object(
  {
    type: Type.Literal('webhook'),
    url: HttpUrl,
    secretEnv: Type.Optional(EnvName),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
  },
  { additionalProperties: false },
);
type ProviderSchemas = Static<typeof ElizaProvider> | Static<typeof OpenAiProvider> | Static<typeof WebhookProvider>;
/** Compile-time proof that the schema and the domain's ProviderConfig describe the same values. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const providerSchemasMatch: Same<ProviderSchemas, DomainProviderConfig> = true;
void providerSchemasMatch;

/** An agent's provider: one schema per type, told apart by `type` (OpenAPI discriminator). */
const ProviderConfig = Type.Unsafe<DomainProviderConfig>({
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [ElizaProvider, OpenAiProvider, WebhookProvider],
});

export function agentBody(bounds: TimeoutBounds) {
  return Type.Object(
    {
      id: Type.Optional(Uuid('Optional; generated when absent')),
      name: Type.String({ minLength: 1, maxLength: 100 }),
      system: Type.Optional(Type.String({ maxLength: 20_000 })),
      provider: ProviderConfig,
      sessionDefaults: Type.Optional(timeoutConfigPatch(bounds)),
      metadata: Type.Optional(MetadataInput),
    },
    { additionalProperties: false },
  );
}

export function agentPatchBody(bounds: TimeoutBounds) {
  return Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      system: Type.Optional(Type.String({ maxLength: 20_000 })),
      provider: Type.Optional(ProviderConfig),
      sessionDefaults: Type.Optional(timeoutConfigPatch(bounds)),
      metadata: Type.Optional(MetadataInput),
    },
    { additionalProperties: false },
  );
}

export const Agent = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    system: Type.String(),
    provider: Type.Object({ type: Type.String() }, { additionalProperties: true }),
    sessionDefaults: Type.Object({}, { additionalProperties: true }),
    metadata: Metadata,
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { title: 'Agent', description: 'The whole agent, as a key with `agents:manage` sees it' },
);

/** SPEC §6: what a key without `agents:manage` sees of an agent. */
const AgentSummary = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    provider: Type.Object({ type: Type.String() }, { additionalProperties: false }),
    sessionDefaults: Type.Object({}, { additionalProperties: true }),
    metadata: Metadata,
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  {
    additionalProperties: false,
    title: 'AgentSummary',
    description: 'An agent as seen by a key without `agents:manage`: no system prompt, URL or variable names',
  },
);

/** GET /api/agents and /api/agents/:id: the whole agent for `agents:manage`, the summary otherwise. */
export const AgentAsSeen = Type.Union([Agent, AgentSummary], {
  description: 'The whole agent for a key with `agents:manage`; otherwise the AgentSummary',
});

export const AgentIdParams = Type.Object({ agentId: Type.String() });
export type AgentIdParams = Static<typeof AgentIdParams>;

export const DeleteAgentQuery = Type.Object({ force: Type.Optional(Type.Boolean({ default: false })) });
