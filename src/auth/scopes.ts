/**
 * What a credential may do (SPEC §6). API keys carry scopes; a session token stands for one
 * session and is accepted only on the routes that opt in. Routes declare their rule as
 * `config: { auth: ... }`; ROUTE_AUTH below is the same table in one place, for the docs, the
 * security tests and anyone checking a route against the contract.
 */
import { AGENTS_PATH, KEYS_PATH, SEARCH_PATH, SESSIONS_PATH, WEBHOOKS_PATH } from '../http/paths.js';

export const SCOPES = [
  'sessions:create',
  'sessions:read',
  'sessions:write',
  'sessions:manage',
  'sessions:health',
  'agents:manage',
  'keys:manage',
  'webhooks:manage',
  'metrics:read',
  '*',
] as const;

export type Scope = (typeof SCOPES)[number];

/** A route requirement met by any valid API key, whatever its scopes (never a session token). */
export const ANY_KEY = 'any-key' as const;
export type Requirement = Scope | typeof ANY_KEY;

export const isScope = (value: unknown): value is Scope => typeof value === 'string' && (SCOPES as readonly string[]).includes(value);

/**
 * Scopes a session token can stand in for, on its own session only. PATCH timeout and PATCH of
 * the session need `sessions:manage` too but do not opt in to tokens, which is how they stay
 * closed to them.
 */
export const SESSION_TOKEN_SCOPES: readonly Scope[] = ['sessions:read', 'sessions:write', 'sessions:manage'];

export interface RouteRule {
  scope: Requirement;
  /** A session token of the session named by `:sessionId` is accepted. */
  sessionToken?: boolean;
  /** The credential may come as `?token=` (EventSource cannot set headers). */
  queryToken?: boolean;
  /**
   * A route not on one session (search) that accepts a session token for its own session: the
   * handler narrows what it answers to that session.
   */
  ownSessionOnly?: boolean;
}

/** `'public'` needs no credentials; a route without any rule is refused to everyone. */
export type RouteAuth = 'public' | RouteRule;

/** True when a key holding `held` may do what `needed` allows. */
export function grants(held: readonly Scope[], needed: Scope): boolean {
  return held.includes('*') || held.includes(needed);
}

/** SPEC §4 and §6 as data: `METHOD path` → rule. */
export const ROUTE_AUTH: Readonly<Record<string, RouteAuth>> = {
  [`POST ${SESSIONS_PATH}`]: { scope: 'sessions:create' },
  [`GET ${SESSIONS_PATH}`]: { scope: 'sessions:read' },
  [`GET ${SESSIONS_PATH}/health`]: { scope: 'sessions:health' },
  [`GET ${SESSIONS_PATH}/:sessionId`]: { scope: 'sessions:read', sessionToken: true },
  [`DELETE ${SESSIONS_PATH}/:sessionId`]: { scope: 'sessions:manage', sessionToken: true },
  [`POST ${SESSIONS_PATH}/:sessionId/messages`]: { scope: 'sessions:write', sessionToken: true },
  [`GET ${SESSIONS_PATH}/:sessionId/messages`]: { scope: 'sessions:read', sessionToken: true },
  [`POST ${SESSIONS_PATH}/:sessionId/renew`]: { scope: 'sessions:write', sessionToken: true },
  [`POST ${SESSIONS_PATH}/:sessionId/heartbeat`]: { scope: 'sessions:write', sessionToken: true },
  [`PATCH ${SESSIONS_PATH}/:sessionId/timeout`]: { scope: 'sessions:manage' },
  [`PATCH ${SESSIONS_PATH}/:sessionId`]: { scope: 'sessions:manage' },
  [`POST ${SESSIONS_PATH}/:sessionId/cancel`]: { scope: 'sessions:write', sessionToken: true },
  [`GET ${SESSIONS_PATH}/:sessionId/events`]: { scope: 'sessions:read', sessionToken: true, queryToken: true },
  [`GET ${SESSIONS_PATH}/:sessionId/export`]: { scope: 'sessions:read', sessionToken: true },
  [`GET ${SEARCH_PATH}`]: { scope: 'sessions:read', sessionToken: true, ownSessionOnly: true },
  [`POST ${AGENTS_PATH}`]: { scope: 'agents:manage' },
  [`GET ${AGENTS_PATH}`]: { scope: ANY_KEY },
  [`GET ${AGENTS_PATH}/:agentId`]: { scope: ANY_KEY },
  [`PATCH ${AGENTS_PATH}/:agentId`]: { scope: 'agents:manage' },
  [`DELETE ${AGENTS_PATH}/:agentId`]: { scope: 'agents:manage' },
  [`POST ${KEYS_PATH}`]: { scope: 'keys:manage' },
  [`GET ${KEYS_PATH}`]: { scope: 'keys:manage' },
  [`DELETE ${KEYS_PATH}/:keyId`]: { scope: 'keys:manage' },
  [`POST ${WEBHOOKS_PATH}`]: { scope: 'webhooks:manage' },
  [`GET ${WEBHOOKS_PATH}`]: { scope: 'webhooks:manage' },
  [`GET ${WEBHOOKS_PATH}/:webhookId`]: { scope: 'webhooks:manage' },
  [`PATCH ${WEBHOOKS_PATH}/:webhookId`]: { scope: 'webhooks:manage' },
  [`DELETE ${WEBHOOKS_PATH}/:webhookId`]: { scope: 'webhooks:manage' },
  [`GET ${WEBHOOKS_PATH}/:webhookId/deliveries`]: { scope: 'webhooks:manage' },
  'GET /metrics': { scope: 'metrics:read' },
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /openapi.json': 'public',
  'GET /docs': 'public',
  'GET /': 'public',
};
