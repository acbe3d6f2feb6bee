/** Helpers for the security suites: keys with chosen scopes, and requests with any credential. */
import { ADMIN_KEY, send, type CredentialPlace, type TestResponse, type TestServer } from './server.js';

export type { CredentialPlace } from './server.js';

export interface CallOptions {
  token?: string;
  place?: CredentialPlace;
  body?: unknown;
  headers?: Record<string, string>;
}

export type CallResult = TestResponse;

/** One request with exactly the credential given (none unless `token`), through `send`. */
export function call(server: TestServer, method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  return send(server.url, method, path, { ...options, token: options.token ?? null });
}

/** Creates an API key through the API (with the admin key) and returns its secret and id. */
export async function createKey(
  server: TestServer,
  scopes: string[],
  extra: Record<string, unknown> = {},
): Promise<{ key: string; id: string }> {
  const res = await call(server, 'POST', '/api/keys', {
    token: ADMIN_KEY,
    body: { name: `test ${scopes.join(' ')}`.slice(0, 100), scopes, ...extra },
  });
  if (res.status !== 201) throw new Error(`key create failed: ${res.status} ${res.text}`);
  const { key, id } = res.body as { key: string; id: string };
  return { key, id };
}
