/**
 * The published `@elizaos/api-client` against a live server: what an elizaOS application gets
 * back from each SessionsService call. Where the client's declared types and what it really
 * returns differ (dates as strings, `deleteSession`), the assertions state what it returns.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as apiClient from '@elizaos/api-client';
import { elizaAnswer } from '../../src/agents/eliza.js';
import { MINUTE } from '../support/clock.js';
import { ADMIN_KEY, ELIZA, startServer, USER, type CreatedSession, type TestServer } from '../support/server.js';
import type { SessionInfo } from '../../src/domain/session.js';

/**
 * The package's declarations re-export `./api-client/src/index` without a file extension, which
 * TypeScript cannot resolve under `moduleResolution: NodeNext`: the module appears to export
 * nothing. So the parts this test uses are typed here, after the package's own .d.ts files but
 * with dates as the ISO strings JSON really carries (the package declares `Date`).
 */
interface ClientMessage {
  id: string;
  content: string;
  authorId: string;
  isAgent: boolean;
  createdAt: string;
  metadata: Record<string, unknown>;
}
interface SessionsService {
  checkHealth(): Promise<{ status: string; activeSessions: number; timestamp: string } & Record<string, unknown>>;
  createSession(params: { agentId: string; userId: string; metadata?: Record<string, unknown> }): Promise<CreatedSession>;
  getSession(sessionId: string): Promise<SessionInfo>;
  sendMessage(
    sessionId: string,
    params: { content: string; metadata?: Record<string, unknown>; transport?: 'http' | 'sse' | 'websocket' },
  ): Promise<{
    success: boolean;
    userMessage: Omit<ClientMessage, 'isAgent'>;
    agentResponse?: { text: string; thought?: string; actions?: string[] };
    sessionStatus?: { expiresAt: string; renewalCount: number; wasRenewed: boolean; isNearExpiration: boolean };
  }>;
  sendMessageSync(sessionId: string, params: { content: string }): ReturnType<SessionsService['sendMessage']>;
  getMessages(
    sessionId: string,
    params?: { limit?: number; before?: Date | string | number; after?: Date | string | number },
  ): Promise<{ messages: ClientMessage[]; hasMore: boolean }>;
  deleteSession(sessionId: string): Promise<{ success: boolean }>;
  listSessions(): Promise<{ sessions: SessionInfo[]; total: number }>;
}
interface ApiError extends Error {
  code: string;
  details?: string;
  status?: number;
}
interface ElizaClient {
  sessions: SessionsService;
}
const { ElizaClient, ApiError } = apiClient as unknown as {
  ElizaClient: new (config: { baseUrl: string; apiKey?: string }) => ElizaClient;
  ApiError: new (code: string, message: string, details?: string, status?: number) => ApiError;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const iso = (ms: number) => new Date(ms).toISOString();

let server: TestServer;
let client: ElizaClient;
before(async () => {
  server = await startServer();
  client = new ElizaClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
});
after(() => server.close());

/** Runs `call`, expecting the client to throw its ApiError with this code and status. */
async function rejectsWith(call: Promise<unknown>, code: string, status: number): Promise<ApiError> {
  let caught: unknown;
  try {
    await call;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ApiError, `expected an ApiError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status);
  return caught;
}

describe('@elizaos/api-client SessionsService', () => {
  test('checkHealth', async () => {
    const health = await client.sessions.checkHealth();
    assert.equal(health.status, 'healthy');
    assert.equal(health.activeSessions, 0);
    assert.equal(health.timestamp, iso(server.clock.now()));
    assert.deepEqual(Object.keys(health).sort(), ['activeSessions', 'expiringSoon', 'invalidSessions', 'status', 'timestamp', 'uptime']);
  });

  test('createSession and getSession', async () => {
    const t0 = server.clock.now();
    const created = await client.sessions.createSession({ agentId: ELIZA, userId: USER, metadata: { platform: 'test', username: 'ada' } });
    assert.match(created.sessionId, UUID);
    assert.equal(created.agentId, ELIZA);
    assert.equal(created.userId, USER);
    assert.deepEqual(created.metadata, { platform: 'test', username: 'ada' });
    // Declared as Date; JSON gives the ISO string.
    assert.equal(created.createdAt, iso(t0));

    const info = await client.sessions.getSession(created.sessionId);
    assert.equal(info.sessionId, created.sessionId);
    assert.equal(info.agentId, ELIZA);
    assert.equal(info.userId, USER);
    assert.equal(info.lastActivity, iso(t0));
    assert.deepEqual(info.metadata, { platform: 'test', username: 'ada' });
    // The whole SessionInfo comes through, as the REST API gives it.
    const rest = await server.request('GET', `/api/messaging/sessions/${created.sessionId}`);
    assert.deepEqual(info, rest.body);
  });

  test('sendMessage (websocket), sendMessageSync (http) and getMessages', async () => {
    const { sessionId } = await client.sessions.createSession({ agentId: ELIZA, userId: USER });
    const t1 = server.clock.advance(MINUTE);

    const sent = await client.sessions.sendMessage(sessionId, { content: 'I am feeling sad', metadata: { source: 'client' } });
    assert.match(sent.userMessage.id, UUID);
    assert.equal(sent.userMessage.content, 'I am feeling sad');
    assert.equal(sent.userMessage.authorId, USER);
    assert.equal(sent.userMessage.createdAt, iso(t1));
    assert.deepEqual(sent.userMessage.metadata, { source: 'client' });
    assert.deepEqual(sent.sessionStatus, { expiresAt: iso(t1 + 30 * MINUTE), renewalCount: 1, wasRenewed: true, isNearExpiration: false });
    assert.equal(sent.agentResponse, undefined);
    // Declared `success: boolean`; the SPEC's answer carries no `success` key (else the client
    // would unwrap a missing `data`), so it is absent.
    assert.equal(sent.success, undefined);
    await server.app.replies.idle();

    const synced = await client.sessions.sendMessageSync(sessionId, { content: 'My mother does not listen' });
    assert.equal(synced.agentResponse?.text, elizaAnswer(['I am feeling sad'], 'My mother does not listen'));

    const page = await client.sessions.getMessages(sessionId, { limit: 3 });
    assert.equal(page.messages.length, 3);
    assert.equal(page.hasMore, true);
    assert.deepEqual(
      page.messages.map((m) => [m.isAgent, m.content]),
      [
        [true, synced.agentResponse?.text],
        [false, 'My mother does not listen'],
        [true, elizaAnswer([], 'I am feeling sad')],
      ],
    );
    // `before` as a Date: the client sends epoch milliseconds.
    const older = await client.sessions.getMessages(sessionId, { limit: 3, before: new Date(page.messages[2]!.createdAt) });
    assert.deepEqual(
      older.messages.map((m) => m.id),
      [sent.userMessage.id],
    );
    assert.equal(older.hasMore, false);
    // `after` as an ISO string.
    const newer = await client.sessions.getMessages(sessionId, { after: page.messages[1]!.createdAt });
    assert.deepEqual(
      newer.messages.map((m) => m.id),
      [page.messages[0]!.id],
    );
  });

  test('sendMessage with transport "sse": the client cannot read the stream', async () => {
    const { sessionId } = await client.sessions.createSession({ agentId: ELIZA, userId: USER });
    // The client parses every answer as JSON; an event stream fails to parse and, the status
    // being 2xx, it returns its stand-in for "no content".
    const answer = await client.sessions.sendMessage(sessionId, { content: 'Hello', transport: 'sse' });
    assert.deepEqual(answer, { success: true });
    // The message and the reply were stored all the same.
    const page = await client.sessions.getMessages(sessionId);
    assert.equal(page.messages.length, 2);
  });

  test('listSessions', async () => {
    const list = await client.sessions.listSessions();
    const rest = await server.request('GET', '/api/messaging/sessions');
    assert.deepEqual(list, rest.body);
    assert.equal(list.total, list.sessions.length);
    assert.ok(list.total >= 3);
  });

  test('deleteSession: the session is gone; the call itself returns undefined', async () => {
    const { sessionId } = await client.sessions.createSession({ agentId: ELIZA, userId: USER });
    // Our body is {success:true, message}; the client sees `success` and returns its `data`
    // field, which the SPEC's body does not have.
    const result = await client.sessions.deleteSession(sessionId);
    assert.equal(result, undefined);
    await rejectsWith(client.sessions.getSession(sessionId), 'SESSION_NOT_FOUND', 404);
  });

  test('errors arrive as ApiError with code, message, details and status', async () => {
    await rejectsWith(client.sessions.getSession('not-a-session'), 'SESSION_NOT_FOUND', 404);
    await rejectsWith(
      client.sessions.createSession({ agentId: '99999999-9999-4999-8999-999999999999', userId: USER }),
      'AGENT_NOT_FOUND',
      404,
    );
    const invalid = await rejectsWith(client.sessions.createSession({ agentId: 'eliza', userId: USER }), 'VALIDATION_ERROR', 400);
    assert.match(invalid.details ?? '', /agentId/);

    const { sessionId } = await client.sessions.createSession({ agentId: ELIZA, userId: USER });
    const tooLong = await rejectsWith(client.sessions.sendMessage(sessionId, { content: 'x'.repeat(10_001) }), 'VALIDATION_ERROR', 400);
    assert.match(tooLong.details ?? '', /content/);
    await rejectsWith(client.sessions.getMessages(sessionId, { limit: 500 }), 'INVALID_PAGINATION', 400);

    server.clock.advance(30 * MINUTE);
    await rejectsWith(client.sessions.getSession(sessionId), 'SESSION_EXPIRED', 410);
    await rejectsWith(client.sessions.sendMessage(sessionId, { content: 'too late' }), 'SESSION_EXPIRED', 410);
  });

  test('a wrong API key: ApiError UNAUTHORIZED', async () => {
    const stranger = new ElizaClient({ baseUrl: server.url, apiKey: 'not-the-key' });
    await rejectsWith(stranger.sessions.listSessions(), 'UNAUTHORIZED', 401);
  });
});
