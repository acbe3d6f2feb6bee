/**
 * Recognises the failures that mean "a backing service (PostgreSQL, Redis) is away": worth a
 * retry once it is back. The HTTP layer answers them 503 (http/unavailable.ts); an agent reply
 * waits for the store to come back before giving up (agents/replies.ts).
 */

/** Node's socket errors for a peer that refuses, resets, vanishes or cannot be found. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03 (the server is shutting
 * down, crashed or not accepting connections yet), 53300 (too many connections), 57014 (the
 * statement timeout fired).
 */
const POSTGRES_UNAVAILABLE = /^(08...|57P0[123]|53300|57014)$/;

/** Messages of pg and ioredis when a connection is missing, lost or out of time. */
const MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /query read timeout/i,
  /client has encountered a connection error/i,
  /connection is closed/i,
  /stream isn't writeable/i,
  /reached the max retries per request/i,
];

export function isServiceUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 3) return false;
  const { code, name, message, errors, cause } = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    errors?: unknown;
    cause?: unknown;
  };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code))) return true;
  if (name === 'MaxRetriesPerRequestError') return true;
  if (typeof message === 'string' && MESSAGES.some((pattern) => pattern.test(message))) return true;
  // Node reports a refused connection to every address of a host as an AggregateError.
  if (Array.isArray(errors) && errors.some((inner) => isServiceUnavailable(inner, depth + 1))) return true;
  return cause !== undefined && isServiceUnavailable(cause, depth + 1);
}
