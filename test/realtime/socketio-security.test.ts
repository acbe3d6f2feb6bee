/**
 * Socket.IO and the event stream under the rules of the HTTP API (SPEC §6, §7): the handshake
 * authenticates, a join is authorized before anything is looked up, both count against the rate
 * limits, and a connection whose credential is revoked (or whose key expires) is closed at the
 * next check, driven here by `credentials.recheck()` and the test clock, not by waiting.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { io as connect, type Socket } from 'socket.io-client';
import { createKey } from '../support/auth.js';
import { memoryLimiters } from '../../src/http/rate-limit.js';
import { ManualClock, MINUTE } from '../support/clock.js';
import { ADMIN_KEY, createSession, startServer, type TestServer } from '../support/server.js';
import { openSse } from '../support/sse-client.js';
import { emitAck, type SocketAck } from '../support/socketio-client.js';

const S = '/api/messaging/sessions';
const UNKNOWN = '5b0a3d0e-4d7a-4f6c-9a59-2d2b8e3c1f00';

let server: TestServer;
const sockets: Socket[] = [];
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.close());
  await server?.close();
});

/** The error envelope a refused connection carries. */
interface Refusal {
  success: false;
  error: { code: string; message: string; details?: string };
}

/** Connects; resolves with the socket, or with the envelope of a refused handshake. */
function open(token: string | undefined): Promise<{ socket: Socket; refused?: Refusal }> {
  const socket = connect(server.url, {
    path: '/socket.io',
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
  });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (error: Error & { data?: Refusal }) => resolve({ socket, refused: error.data }));
  });
}

async function connected(token: string): Promise<Socket> {
  const { socket, refused } = await open(token);
  assert.equal(refused, undefined, JSON.stringify(refused));
  return socket;
}

const codeOf = (answer: SocketAck | undefined): string | undefined => (answer?.ok === true ? 'ok' : answer?.error?.code);

describe('the handshake', () => {
  test('no, unknown or malformed credentials: UNAUTHORIZED in the error envelope', async () => {
    server = await startServer();
    for (const token of [undefined, '', 'ask_NotAKeyNotAKeyNotAKeyNotAKeyNotAKey0000', 'ast_NotATokenNotATokenNotATokenNotAToken00']) {
      const { refused } = await open(token);
      assert.deepEqual(refused?.success, false, `token ${token}`);
      assert.equal(refused.error.code, 'UNAUTHORIZED');
    }
  });
});

describe('join', () => {
  test('is authorized before the session is looked up: a refusal tells nothing of existence', async () => {
    server = await startServer();
    const a = await createSession(server);
    const b = await createSession(server);
    const metricsOnly = await connected((await createKey(server, ['metrics:read'])).key);
    assert.equal(codeOf(await emitAck(metricsOnly, 'join', { sessionId: a.sessionId })), 'FORBIDDEN');
    assert.equal(codeOf(await emitAck(metricsOnly, 'join', { sessionId: UNKNOWN })), 'FORBIDDEN');

    const tokenOfA = await connected(a.sessionToken);
    assert.equal(codeOf(await emitAck(tokenOfA, 'join', { sessionId: a.sessionId })), 'ok');
    assert.equal(codeOf(await emitAck(tokenOfA, 'join', { sessionId: b.sessionId })), 'FORBIDDEN');
    assert.equal(codeOf(await emitAck(tokenOfA, 'join', { sessionId: UNKNOWN })), 'FORBIDDEN');
    // The elizaOS room-joining message, by channel: the same.
    const byChannel = (channelId: string) => emitAck(tokenOfA, 'message', { type: 1, payload: { channelId } });
    assert.equal(codeOf(await byChannel(a.channelId)), 'ok');
    assert.equal(codeOf(await byChannel(b.channelId)), 'FORBIDDEN');
    assert.equal(codeOf(await byChannel('no-such-channel')), 'FORBIDDEN');

    // A key with the scope still learns what does not exist, as it would by listing.
    const reader = await connected((await createKey(server, ['sessions:read'])).key);
    assert.equal(codeOf(await emitAck(reader, 'join', { sessionId: UNKNOWN })), 'SESSION_NOT_FOUND');
    assert.equal(codeOf(await emitAck(reader, 'join', { sessionId: b.sessionId })), 'ok');
  });
});

describe('rate limits', () => {
  test("the handshake and each join count for the key; joins also for the session's window", async () => {
    // Counters of this server's own: in the scaled pass, Redis holds the admin key's count from
    // every other test of this minute (shared counters are test/http/rate-limit.test.ts's part).
    server = await startServer({ RATE_LIMIT_KEY_PER_MINUTE: '4', RATE_LIMIT_SESSION_PER_MINUTE: '2' }, new ManualClock(), undefined, {
      limiterFactory: memoryLimiters,
    });
    const s = await createSession(server);
    const { key } = await createKey(server, ['sessions:read']);
    const socket = await connected(key); // 1 for the key
    assert.equal(codeOf(await emitAck(socket, 'join', { sessionId: s.sessionId })), 'ok'); // key 2, session 1
    assert.equal(codeOf(await emitAck(socket, 'join', { sessionId: s.sessionId })), 'ok'); // key 3, session 2
    const third = await emitAck(socket, 'join', { sessionId: s.sessionId }); // key 4, session 3 of 2
    assert.equal(codeOf(third), 'RATE_LIMITED');
    const { details = '', retryAfter = 0 } = third.error ?? {};
    assert.match(details, /^session limit: 2 requests per 1 min$/);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, JSON.stringify(third));

    const again = await open(key); // key 5 of 4
    assert.equal(again.refused?.error?.code, 'RATE_LIMITED');
    // The window is the HTTP one: the same key is refused there too.
    const http = await server.request('GET', `${S}/${s.sessionId}`, { token: key });
    assert.equal(http.status, 429);
  });
});

describe('a revoked or expired credential', () => {
  test('a socket whose key is revoked joins nothing more, and is disconnected at the next check', async () => {
    server = await startServer();
    const s = await createSession(server);
    const { key, id } = await createKey(server, ['sessions:read']);
    const socket = await connected(key);
    assert.equal(codeOf(await emitAck(socket, 'join', { sessionId: s.sessionId })), 'ok');
    const kept = await connected(ADMIN_KEY);

    assert.equal((await server.request('DELETE', `/api/keys/${id}`)).status, 200);
    assert.equal(codeOf(await emitAck(socket, 'join', { sessionId: s.sessionId })), 'UNAUTHORIZED');
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    assert.equal(await server.app.credentialWatch.recheck(), 1);
    assert.equal(await disconnected, 'io server disconnect');
    assert.ok(kept.connected, 'the configured key stays connected');
  });

  test('an event stream whose key expires ends at the next check; one with a valid key goes on', async () => {
    server = await startServer();
    const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 60 } });
    const expiresAt = new Date(server.clock.now() + 10 * MINUTE).toISOString();
    const { key } = await createKey(server, ['sessions:read'], { expiresAt });
    const expiring = await openSse(`${server.url}${S}/${s.sessionId}/events`, { headers: { authorization: `Bearer ${key}` } });
    const lasting = await openSse(`${server.url}${S}/${s.sessionId}/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(expiring.status, 200);
    assert.equal(lasting.status, 200);

    assert.equal(await server.app.credentialWatch.recheck(), 0, 'nothing to close yet');
    server.clock.advance(10 * MINUTE);
    assert.equal(await server.app.credentialWatch.recheck(), 1);
    await expiring.ended;

    // The other stream still delivers.
    assert.equal((await lasting.next()).event, 'session.created', 'replayed from the start');
    assert.equal((await server.request('POST', `${S}/${s.sessionId}/heartbeat`)).status, 200);
    assert.equal((await lasting.next()).event, 'session.renewed');
    lasting.close();
  });

  test("a session token's socket is disconnected once its session is gone past retention", async () => {
    server = await startServer({ SESSION_RETENTION_MINUTES: '60' });
    const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
    const socket = await connected(s.sessionToken);
    server.clock.advance(6 * MINUTE);
    assert.equal(await server.app.credentialWatch.recheck(), 0, 'expired, but within retention');
    server.clock.advance(60 * MINUTE);
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    assert.equal(await server.app.credentialWatch.recheck(), 1);
    assert.equal(await disconnected, 'io server disconnect');
  });
});
