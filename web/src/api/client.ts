/**
 * HTTP to this server's API. Credentials travel only as `Authorization: Bearer …`, never in a
 * URL; no cookies are sent or kept; nothing is cached. Failures become ApiError from the error
 * envelope.
 */
import { ApiError, errorFromBody, isAbort, type CredentialKind } from './errors.js';

export interface Credential {
  kind: CredentialKind;
  value: string;
}

export interface RequestOptions {
  credential: Credential | null;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export const SESSIONS_PATH = '/api/messaging/sessions';

export const sessionPath = (sessionId: string, suffix = ''): string => `${SESSIONS_PATH}/${encodeURIComponent(sessionId)}${suffix}`;

export async function request(method: string, path: string, options: RequestOptions): Promise<Response> {
  const { credential } = options;
  if (!credential?.value)
    throw new ApiError(401, 'UNAUTHORIZED', 'No credentials: paste an API key or a session token', undefined, credential?.kind);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers, authorization: `Bearer ${credential.value}` };
  const init: RequestInit = { method, headers, cache: 'no-store', credentials: 'omit', signal: options.signal ?? null };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError(0, 'NETWORK_ERROR', 'The server could not be reached', undefined, credential.kind);
  }
  if (!response.ok) {
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      // Cancelled while the body was read: a cancellation, not an answer without a body.
      if (isAbort(error)) throw error;
      body = undefined;
    }
    throw errorFromBody(response.status, response.statusText, body, credential.kind);
  }
  return response;
}

export async function requestJson<T>(method: string, path: string, options: RequestOptions): Promise<T> {
  const response = await request(method, path, options);
  return (await response.json()) as T;
}
