/**
 * What the HTTP-based providers share: turning an upstream failure into an AgentError whose
 * message is safe to show to a client, while the original failure stays attached as `cause`
 * for the logs.
 */
import { AGENT_SECRET_ENV_PREFIX, isAgentSecretEnvName } from '../domain/agent.js';
import { AgentError, replyCancelled } from './provider.js';

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
  return signal.reason instanceof AgentError ? signal.reason : replyCancelled();
}

/** The value of the environment variable a provider names, read at call time so rotation needs no restart. */
export function secretFromEnv(name: string, what: string): string {
  // Agents stored before the rule existed may name any variable: those are not read.
  if (!isAgentSecretEnvName(name)) {
    throw agentFailure(
      'AGENT_UNAVAILABLE',
      `The agent's ${what} is not configured`,
      new Error(`environment variable ${name} is not an ${AGENT_SECRET_ENV_PREFIX}… variable`),
    );
  }
  const value = process.env[name];
  if (value === undefined || value === '') {
    // The variable's name stays out of the client-facing message; operators find it in the cause.
    throw agentFailure('AGENT_UNAVAILABLE', `The agent's ${what} is not configured`, new Error(`environment variable ${name} is not set`));
  }
  return value;
}

/** Shorter values are not masked: they would match ordinary text. */
const MIN_SECRET_LENGTH = 8;

/**
 * The forms in which a secret may come back from a hostile or careless upstream: as is,
 * URL-encoded, hex, and base64 (standard and URL-safe alphabets) at each of the three byte
 * alignments it can have inside a longer encoded text (`Bearer <key>` encoded whole). For an
 * alignment, only the characters that depend on the secret alone are kept.
 */
function secretForms(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [];
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set([secret, encodeURIComponent(secret), bytes.toString('hex')]);
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // The first group holds prefix bytes when shifted; the last may hold padding or a partial group.
    const core = encoded.slice(shift === 0 ? 0 : 4, (bytes.length + shift) % 3 === 0 ? encoded.length : -4);
    if (core.length >= MIN_SECRET_LENGTH) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

/** The values of the agent secret variables of this process (the only ones a provider may use). */
function agentSecrets(): string[] {
  return Object.entries(process.env)
    .filter(([name, value]) => isAgentSecretEnvName(name) && value !== undefined)
    .map(([, value]) => value!);
}

/** `text` with every form of every secret (and of every agent secret of the process) masked. */
function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  const forms = [...new Set([...secrets, ...agentSecrets()].flatMap(secretForms))].sort((a, b) => b.length - a.length);
  for (const form of forms) {
    out = out.split(form).join('[redacted]');
    // Hex and percent-encodings are case-insensitive on the wire.
    if (/^[0-9a-f]+$/.test(form) || form.includes('%')) out = out.replace(new RegExp(escapeRegExp(form), 'gi'), '[redacted]');
  }
  return out;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
      // Whatever else was thrown, as String() shows it.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      parts.push(String(current));
      break;
    }
  }
  // Masked before cutting, so no cut can leave a piece of a secret unmasked.
  const text = redactSecrets(parts.filter(Boolean).join(': '), secrets);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Connection-level failures (nothing listening, DNS, reset before an answer) as opposed to bad answers. */
export function isUnreachable(error: unknown): boolean {
  const codes = [
    'OUTBOUND_REFUSED',
    'ECONNREFUSED',
    'ECONNRESET',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
  ];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && codes.includes(code)) return true;
    current = current.cause;
  }
  return false;
}
