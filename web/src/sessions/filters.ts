/**
 * The session list's filters as query parameters (SPEC §4 and §12): agent, user, status, and a
 * `metadata.<key>=<value>` pair when the server supports it. Pure; errors name the field.
 */
import { isUuid } from '../uuid.js';
import { pageParams, type PageRequest } from './paging.js';

export type StatusFilter = 'active' | 'expired' | 'all';

export interface ListFilters {
  agentId: string;
  userId: string;
  status: StatusFilter;
  metadataKey: string;
  metadataValue: string;
}

export const NO_FILTERS: ListFilters = { agentId: '', userId: '', status: 'active', metadataKey: '', metadataValue: '' };

/** Keys the server accepts in `metadata.<key>` (SPEC §12). */
const METADATA_KEY = /^[A-Za-z0-9_-]{1,64}$/;

export class FilterError extends Error {
  constructor(
    readonly field: keyof ListFilters,
    message: string,
  ) {
    super(message);
  }
}

/** The query string of a list request; throws FilterError for a value the server would refuse. */
export function listQuery(filters: ListFilters, page: PageRequest, limit: number, metadataSupported: boolean): URLSearchParams {
  const query = new URLSearchParams();
  const agentId = filters.agentId.trim();
  const userId = filters.userId.trim();
  if (agentId !== '') query.set('agentId', agentId);
  if (userId !== '') {
    if (!isUuid(userId)) throw new FilterError('userId', 'The user id is a UUID');
    query.set('userId', userId.toLowerCase());
  }
  query.set('status', filters.status);
  const key = filters.metadataKey.trim();
  if (metadataSupported && key !== '') {
    if (!METADATA_KEY.test(key)) throw new FilterError('metadataKey', 'A metadata key is 1–64 letters, digits, _ or -');
    query.set(`metadata.${key}`, filters.metadataValue);
  }
  query.set('limit', String(limit));
  for (const [name, value] of Object.entries(pageParams(page))) query.set(name, value);
  return query;
}

/**
 * Does the server's OpenAPI document list a `metadata.…` query parameter on the session list?
 * Until it does, the metadata filter stays hidden (the server would ignore it).
 */
export function supportsMetadataFilter(openapi: unknown): boolean {
  const operation = (openapi as { paths?: Record<string, { get?: { parameters?: unknown } }> } | null)?.paths?.['/api/messaging/sessions']
    ?.get;
  const parameters = operation?.parameters;
  if (!Array.isArray(parameters)) return false;
  return parameters.some((p: unknown) => {
    const { in: place, name } = (p ?? {}) as { in?: unknown; name?: unknown };
    return place === 'query' && typeof name === 'string' && name.startsWith('metadata');
  });
}
