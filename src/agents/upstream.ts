/**
 * What the HTTP-based providers share: turning an upstream failure into an AgentError whose
 * message is safe to show to a client, while the original failure stays attached as `cause`
 * for the logs.
 */
import { AGENT_SECRET_ENV_PREFIX, isAgentSecretEnvName } from '../domain/agent.js';
import { AgentError } from './provider.js';

type Code = AgentError['code'];

/** An AgentError for clients, with the upstream failure kept as `cause` for operators. */
export function agentFailure(code: Code, message: string, cause?: unknown): AgentError {
  const error = new AgentError(code, message);
  if (cause !== undefined) error.cause = cause;
  return error;
}

/**
 * Why a reply was aborted. Replies aborts its controller with an AgentError (timeout, session
 * ended, client gone); anything else counts as a cancellation.
 */
export function abortReason(signal: AbortSignal): AgentError {
  return signal.reason instanceof AgentError ? signal.reason : new AgentError('AGENT_CANCELLED', 'The reply was cancelled');
}

/** The value of the environment variable a provider names, read at call time so rotation needs no restart. */
export function secretFromEnv(name: string, what: string): string {
  // Agents stored before the rule existed may name any variable: those are not read.
  if (!isAgentSecretEnvName(name)) {
    throw agentFailure('AGENT_UNAVAILABLE', `The agent's ${what} is not configured`, new Error(`environment variable ${name} is not an ${AGENT_SECRET_ENV_PREFIX}… variable`));
  }
  const value = process.env[name];
  if (value === undefined || value === '') {
    // The variable's name stays out of the client-facing message; operators find it in the cause.
    throw agentFailure('AGENT_UNAVAILABLE', `The agent's ${what} is not configured`, new Error(`environment variable ${name} is not set`));
  }
  return value;
}

/** One line for the logs: the error's message and those of its causes (network errors nest them). */
export function describeCause(error: unknown, secrets: readonly string[] = []): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      // Node's system errors carry the telling part (ECONNREFUSED, …) in `code`.
      const code = current instanceof AgentError ? undefined : (current as { code?: unknown }).code;
      parts.push(typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  let text = parts.filter(Boolean).join(': ');
  for (const secret of secrets) if (secret) text = text.split(secret).join('[redacted]');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Connection-level failures (nothing listening, DNS, reset before an answer) as opposed to bad answers. */
export function isUnreachable(error: unknown): boolean {
  const codes = ['OUTBOUND_REFUSED', 'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && codes.includes(code)) return true;
    current = current.cause;
  }
  return false;
}
