/** API failures as the app handles and shows them. Pure. */
import type { ErrorEnvelope } from './types.js';

/** Which credential a request carried: the API key, or a session's own token. */
export type CredentialKind = 'key' | 'token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
    readonly credential: CredentialKind | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The error envelope `{success:false, error:{code, message, details}}` of a failed answer. */
export function errorFromBody(status: number, statusText: string, body: unknown, credential?: CredentialKind): ApiError {
  const error = (body as Partial<ErrorEnvelope> | null | undefined)?.error;
  if (error && typeof error === 'object') {
    return new ApiError(
      status,
      error.code !== undefined ? String(error.code) : `HTTP_${status}`,
      error.message !== undefined ? String(error.message) : statusText || 'Request failed',
      error.details,
      credential,
    );
  }
  return new ApiError(status, `HTTP_${status}`, statusText || 'Request failed', undefined, credential);
}

/** `CODE: message (details)`, as the error area shows it. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const { details } = error;
    const extra =
      details === undefined || details === null || details === ''
        ? ''
        : ` (${typeof details === 'string' ? details : JSON.stringify(details)})`;
    return `${error.code}: ${error.message}${extra}`;
  }
  return `ERROR: ${error instanceof Error ? error.message : String(error)}`;
}

export const isAbort = (error: unknown): boolean => (error as { name?: unknown } | null)?.name === 'AbortError';
