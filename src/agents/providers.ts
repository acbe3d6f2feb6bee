import type { ProviderConfig } from '../domain/agent.js';
import { elizaProvider } from './eliza.js';
import { openaiProvider } from './openai.js';
import { AgentError, type AgentProvider } from './provider.js';
import { webhookProvider } from './webhook.js';

export interface ProviderOptions {
  /** The deadline of the reply this provider is built for. */
  timeoutMs: number;
  /** The HTTP client to reach the provider with (OUTBOUND_DENY_PRIVATE); the global fetch unless given. */
  fetch?: typeof globalThis.fetch;
}

/**
 * The provider that answers for an agent's provider settings. Providers are built per reply and
 * hold no connection of their own, so nothing is contacted before the first message: an
 * endpoint that is down at start-up only fails the replies that need it.
 */
export function providerFor(config: ProviderConfig, options: ProviderOptions): AgentProvider {
  switch (config.type) {
    case 'eliza':
      return elizaProvider;
    case 'openai':
      return openaiProvider(config, options);
    case 'webhook':
      return webhookProvider(config, options.fetch);
    default:
      // A row written by a newer version: fail its replies, not the server.
      return unavailable((config as { type: string }).type);
  }
}

const unavailable = (type: string): AgentProvider => ({
  // eslint-disable-next-line require-yield
  async *reply() {
    throw new AgentError('AGENT_UNAVAILABLE', `The ${type} provider is not available in this build`);
  },
});

/** The reply deadline: a webhook's own `timeoutMs` wins over AGENT_TIMEOUT_SECONDS. */
export function replyTimeoutMs(config: ProviderConfig, defaultMs: number): number {
  return config.type === 'webhook' && config.timeoutMs ? config.timeoutMs : defaultMs;
}
