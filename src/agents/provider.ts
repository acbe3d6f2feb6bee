/**
 * What an agent provider does: given the agent, the session, the conversation so far and the
 * new user message, produce the reply as a stream of text chunks. The chunks concatenate to the
 * whole reply; the generator's return value carries what else the provider knows about it.
 */
import type { Agent } from '../domain/agent.js';
import type { Message } from '../domain/message.js';
import type { Session } from '../domain/session.js';

export interface ReplyRequest {
  agent: Agent;
  session: Session;
  /** Earlier messages of the session, oldest first, bounded by AGENT_HISTORY_MESSAGES. */
  history: Message[];
  message: Message;
  /** Aborted when the reply is no longer wanted: timeout, session ended, client gone. */
  signal: AbortSignal;
}

export interface ReplyExtras {
  thought?: string;
  actions?: string[];
}

export interface AgentProvider {
  reply(request: ReplyRequest): AsyncGenerator<string, ReplyExtras | void>;
}

/** A provider failure, reported to clients as `agentError` / an `error` event. */
export class AgentError extends Error {
  constructor(
    readonly code: 'AGENT_TIMEOUT' | 'AGENT_FAILED' | 'AGENT_UNAVAILABLE' | 'AGENT_CANCELLED',
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/** A reply cancelled by its caller or by `cancel` (a new error each time: it is an abort reason). */
export const replyCancelled = (): AgentError => new AgentError('AGENT_CANCELLED', 'The reply was cancelled');
