/** Helpers for the security suites: keys with chosen scopes, and requests with any credential. */
import { ADMIN_KEY, readResponse, type TestServer } from './server.js';

export type CredentialPlace = 'bearer' | 'x-api-key' | 'query' | 'none';

export interface CallOptions {
  token?: string;
  place?: CredentialPlace;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/**
 * One request. An event stream answers 200 and never ends, so its body is not awaited: the
 * connection is dropped as soon as the headers are in.
 */
export async function call(server: TestServer, method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  const place = options.token === undefined ? 'none' : (options.place ?? 'bearer');
  let url = server.url + path;
  if (place === 'bearer') headers.authorization = `Bearer ${options.token}`;
  if (place === 'x-api-key') headers['x-api-key'] = options.token!;
  if (place === 'query') url += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(options.token!)}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const controller = new AbortController();
  const response = await fetch(url, { method, headers, body, signal: controller.signal });
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    controller.abort();
    return { status: response.status, headers: response.headers, body: undefined, text: '' };
  }
  return readResponse(response);
}

/** Creates an API key through the API (with the admin key) and returns its secret and id. */
export async function createKey(
  server: TestServer,
  scopes: string[],
  extra: Record<string, unknown> = {},
): Promise<{ key: string; id: string }> {
  const res = await call(server, 'POST', '/api/keys', { token: ADMIN_KEY, body: { name: `test ${scopes.join(' ')}`.slice(0, 100), scopes, ...extra } });
  if (res.status !== 201) throw new Error(`key create failed: ${res.status} ${res.text}`);
  return { key: res.body.key, id: res.body.id };
}
