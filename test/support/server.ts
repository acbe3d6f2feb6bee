/**
 * A real server on a real port with a real SQLite file in a temporary folder, its clock in the
 * test's hands. With TEST_STORE=postgres (how the test runner repeats the HTTP and real-time
 * suites for the scaled mode) it gets a fresh PostgreSQL database and Redis fan-out instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type AppOptions, type Application } from '../../src/app.js';
import type { MessageView } from '../../src/domain/message.js';
import type { SessionInfo } from '../../src/domain/session.js';
import { parseSettings } from '../../src/settings.js';
import { ManualClock } from './clock.js';
import { createTestDatabase, dropTestDatabase } from './postgres.js';

const SCALED = process.env.TEST_STORE === 'postgres';

/** Where a test server keeps its data; hand it to another startServer to restart on it. */
export interface TestStorage {
  dir: string;
  databaseUrl: string;
}

export const ELIZA = '00000000-0000-4000-8000-000000000001';
/** The admin key (scope `*`) every test server is started with. */
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const USER = '11111111-1111-4111-8111-111111111111';

/**
 * Rate limits count in real time, whatever the test clock says; tests that are not about them
 * must not trip over them (test/http/rate-limit.test.ts sets its own).
 */
export const UNLIMITED_RATES: Readonly<Record<string, string>> = {
  RATE_LIMIT_SESSION_PER_MINUTE: '1000000',
  RATE_LIMIT_USER_PER_HOUR: '1000000',
  RATE_LIMIT_AGENT_PER_HOUR: '1000000',
  RATE_LIMIT_KEY_PER_MINUTE: '1000000',
};

export interface TestServer {
  app: Application;
  url: string;
  clock: ManualClock;
  /** A temporary folder of the server's own (the SQLite file lives there in embedded mode). */
  dir: string;
  storage: TestStorage;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Stops the server; the data folder is removed unless `keepData` (for restart tests). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/** Where a credential goes: the Authorization header, X-API-KEY, the `?token=` query, or nowhere. */
export type CredentialPlace = 'bearer' | 'x-api-key' | 'query' | 'none';

export interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Credentials: the admin key unless given; `null` sends none. */
  token?: string | null;
  /** Where the credential goes; the Authorization header unless given. */
  place?: CredentialPlace;
  /** Sent as is, without JSON encoding (with `headers['content-type']` if it needs one). */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON answer; undefined when the text is not JSON (or for an event stream). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape; the tests read it field by field and assert exact values
  body: any;
  text: string;
}

export async function startServer(
  env: Record<string, string> = {},
  clock = new ManualClock(),
  reuse?: TestStorage,
  options: Omit<AppOptions, 'clock'> = {},
): Promise<TestServer> {
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'agent-sessions-test-'));
  const databaseUrl = reuse?.databaseUrl ?? (SCALED ? await createTestDatabase() : join(dir, 'sessions.db'));
  const settings = parseSettings({
    DATABASE_URL: databaseUrl,
    ...(SCALED ? { REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' } : {}),
    PORT: '0',
    LOG_LEVEL: 'silent',
    SESSIONS_API_KEY: ADMIN_KEY,
    ...UNLIMITED_RATES,
    ...env,
  });
  const app = await createApp(settings, { background: false, ...options, clock });
  const url = await app.listen();
  return {
    app,
    url,
    clock,
    dir,
    storage: { dir, databaseUrl },
    request: (method, path, options) => send(url, method, path, options),
    async close(options = {}) {
      await app.close();
      if (options.keepData) return;
      rmSync(dir, { recursive: true, force: true });
      if (SCALED) await dropTestDatabase(databaseUrl);
    },
  };
}

/** Runs `fn` with a server of its own (so that the data holds exactly what `fn` made), then stops it. */
export async function withServer<T>(fn: (server: TestServer) => Promise<T>, env: Record<string, string> = {}): Promise<T> {
  const server = await startServer(env);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/**
 * The one HTTP client of the tests. An event stream (GET …/events) answers 200 and never ends,
 * so its body is not read: the connection is dropped as soon as the headers are in. A send's
 * stream (POST with transport sse) ends with the reply, and is read whole.
 */
export async function send(base: string, method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? ADMIN_KEY : options.token;
  let url = base + path;
  if (token !== null && headers.authorization === undefined && headers['x-api-key'] === undefined) {
    const place = options.place ?? 'bearer';
    if (place === 'bearer') headers.authorization = `Bearer ${token}`;
    if (place === 'x-api-key') headers['x-api-key'] = token;
    if (place === 'query') url += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  }
  let body: string | Uint8Array | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const controller = new AbortController();
  const response = await fetch(url, { method, headers, body, signal: controller.signal });
  if (method === 'GET' && (response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    controller.abort();
    return { status: response.status, headers: response.headers, body: undefined, text: '' };
  }
  return readResponse(response);
}

/** Status, headers, text and the JSON body (undefined when the text is not JSON). */
async function readResponse(response: Response): Promise<TestResponse> {
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** GET …/sessions/:id/messages: a page of history, newest first. */
export interface HistoryPage {
  messages: MessageView[];
  hasMore: boolean;
  cursors: { before: number | null; after: number | null };
}

/** GET /api/messaging/sessions. */
export interface SessionList {
  sessions: SessionInfo[];
  total: number;
  limit: number;
  offset: number;
  nextCursor: string | null;
  stats: { totalSessions: number; activeSessions: number; expiredSessions: number };
}

/** What a create answers: the session's SessionInfo and its own token. */
export interface CreatedSession extends SessionInfo {
  sessionToken: string;
}

/** Creates a session with the built-in agent and returns its SessionInfo and token. */
export async function createSession(server: TestServer, body: Record<string, unknown> = {}): Promise<CreatedSession> {
  const res = await server.request('POST', '/api/messaging/sessions', { body: { agentId: ELIZA, userId: USER, ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.body as CreatedSession;
}
