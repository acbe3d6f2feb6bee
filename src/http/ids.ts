/**
 * Ids (session, agent, user, key) are compared case-insensitively and stored and returned in
 * lower case (SPEC §6). They are normalised here, at the edge, once: every layer behind sees
 * the one spelling, so `…-ABCD` and `…-abcd` are the same user in a filter, the same session
 * for a session token, the same counter for the rate limits.
 */
import { isUuid } from '../domain/validation.js';
import { unencapsulated, type App } from './types.js';

/** A UUID in lower case; anything else unchanged (it is refused or not found as it is). */
export const normaliseId = <T>(value: T): T => (typeof value === 'string' && isUuid(value) ? (value.toLowerCase() as T) : value);

/** Query and body fields that carry ids. */
const ID_FIELDS = ['id', 'agentId', 'userId', 'sessionId', 'keyId'];

function normaliseFields(record: unknown, names: readonly string[] | 'ids'): void {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return;
  const fields = record as Record<string, unknown>;
  for (const name of names === 'ids' ? Object.keys(fields).filter((k) => k === 'id' || k.endsWith('Id')) : names) {
    if (typeof fields[name] === 'string') fields[name] = normaliseId(fields[name]);
  }
}

export const idNormalisation = unencapsulated('id-normalisation', async (app: App) => {
  // Before authentication and rate limits, which read the path's session id.
  app.addHook('onRequest', async (request) => {
    normaliseFields(request.params, 'ids');
    normaliseFields(request.query, ID_FIELDS);
  });
  app.addHook('preValidation', async (request) => {
    normaliseFields(request.body, ID_FIELDS);
  });
});
