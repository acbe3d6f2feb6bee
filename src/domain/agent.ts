import type { JsonObject } from './json.js';
import type { TimeoutConfigPatch } from './session.js';

/**
 * The only environment variables an agent may name (`apiKeyEnv`, `secretEnv`). Whoever can
 * manage agents can point one at their own URL, so a free choice of variable would hand them
 * any secret of the server's environment (SESSIONS_API_KEY, DATABASE_URL, cloud credentials).
 */
export const AGENT_SECRET_ENV_PREFIX = 'AGENT_SECRET_';
/** The rule as a pattern, for the schema that validates agents. */
export const AGENT_SECRET_ENV_PATTERN = `^${AGENT_SECRET_ENV_PREFIX}[A-Z0-9_]+$`;

const AGENT_SECRET_ENV = new RegExp(AGENT_SECRET_ENV_PATTERN);
export const isAgentSecretEnvName = (name: string): boolean => AGENT_SECRET_ENV.test(name);

/** The built-in agent every fresh database gets, with an id the docs can name. */
const ELIZA_AGENT_ID = '00000000-0000-4000-8000-000000000001';

export type ProviderConfig =
  | { type: 'eliza' }
  | {
      type: 'openai';
      baseUrl: string;
      model: string;
      apiKeyEnv?: string;
      temperature?: number;
      maxTokens?: number;
    }
  | { type: 'webhook'; url: string; secretEnv?: string; timeoutMs?: number };

export interface Agent {
  id: string;
  name: string;
  system: string;
  provider: ProviderConfig;
  /** The agent tier of the timeout configuration. */
  sessionDefaults: TimeoutConfigPatch;
  metadata: JsonObject;
  createdAt: number;
  updatedAt: number;
}

export interface AgentView extends Omit<Agent, 'createdAt' | 'updatedAt'> {
  createdAt: string;
  updatedAt: string;
}

export const toAgentView = (agent: Agent): AgentView => ({
  ...agent,
  createdAt: new Date(agent.createdAt).toISOString(),
  updatedAt: new Date(agent.updatedAt).toISOString(),
});

/** An agent as a key without `agents:manage` sees it (SPEC §6): no system prompt, URL or variable names. */
export interface AgentSummaryView {
  id: string;
  name: string;
  provider: { type: ProviderConfig['type'] };
  sessionDefaults: TimeoutConfigPatch;
  metadata: JsonObject;
  createdAt: string;
  updatedAt: string;
}

export const toAgentSummaryView = (agent: Agent): AgentSummaryView => ({
  id: agent.id,
  name: agent.name,
  provider: { type: agent.provider.type },
  sessionDefaults: agent.sessionDefaults,
  metadata: agent.metadata,
  createdAt: new Date(agent.createdAt).toISOString(),
  updatedAt: new Date(agent.updatedAt).toISOString(),
});

export function builtInElizaAgent(now: number): Agent {
  return {
    id: ELIZA_AGENT_ID,
    name: 'Eliza',
    system: "Weizenbaum's ELIZA (1966): a Rogerian psychotherapist, built in and offline.",
    provider: { type: 'eliza' },
    sessionDefaults: {},
    metadata: {},
    createdAt: now,
    updatedAt: now,
  };
}
