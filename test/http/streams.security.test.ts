/**
 * MAX_STREAMS_PER_CREDENTIAL (SPEC §6): event streams and Socket.IO connections together, per
 * credential; one more is 429 RATE_LIMITED in the envelope (Socket.IO: connect_error with the
 * envelope), and a place is given back when its stream closes. Other credentials are not
 * affected. In the scaled pass, two instances share the count through Redis.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { io as connect, type Socket } from 'socket.io-client';
import { createKey } from '../support/auth.js';
import { joinInstance } from '../support/instances.js';
import { createSession, startServer, type TestServer } from '../support/server.js';
import { openSse, type SseConnection } from '../support/sse-client.js';
import { poll } from '../support/wait.js';

const S = '/api/messaging/sessions';
const LIMIT = 3;

let server: TestServer;
const sockets: Socket[] = [];
const streams: SseConnection[] = [];
before(async () => {
  server = await startServer({ MAX_STREAMS_PER_CREDENTIAL: String(LIMIT) });
});
afterEach(() => {
  sockets.splice(0).forEach((s) => s.close());
  streams.splice(0).forEach((s) => s.close());
});
after(() => server.close());

async function stream(sessionId: string, token: string): Promise<SseConnection> {
  const sse = await openSse(`${server.url}${S}/${sessionId}/events`, { headers: { authorization: `Bearer ${token}` } });
  streams.push(sse);
  return sse;
}

async function refusedStream(sessionId: string, token: string) {
  const res = await server.request('GET', `${S}/${sessionId}/events`, { token });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: res.body };
}

/** The error envelope a refused connection carries. */
interface Refusal {
  success: false;
  error: { code: string; message: string; details?: string };
}

function socket(token: string): Promise<{ socket: Socket; refused?: Refusal | string }> {
  const s = connect(server.url, { path: '/socket.io', auth: { token }, transports: ['websocket'], reconnection: false });
  sockets.push(s);
  return new Promise((resolve) => {
    s.once('connect', () => resolve({ socket: s }));
    s.once('connect_error', (error: Error & { data?: Refusal }) => resolve({ socket: s, refused: error.data ?? error.message }));
  });
}

/** The server gives a place back when it sees the connection close: poll until it has. */
async function eventuallyOpens(sessionId: string, token: string): Promise<SseConnection> {
  const sse = await poll(
    () => tryStream(server, sessionId, token),
    (s) => s.status === 200,
    'the closed stream to give its place back',
    { ms: 10_000, every: 20 },
  );
  streams.push(sse);
  return sse;
}

/** One attempt at a stream on `where`; a refused one is closed at once. */
async function tryStream(where: TestServer, sessionId: string, token: string): Promise<SseConnection> {
  const sse = await openSse(`${where.url}${S}/${sessionId}/events`, { headers: { authorization: `Bearer ${token}` } });
  if (sse.status !== 200) sse.close();
  return sse;
}

describe('MAX_STREAMS_PER_CREDENTIAL', () => {
  test('event streams and sockets count together; one more is 429 in the envelope', async () => {
    const { key } = await createKey(server, ['sessions:read']);
    const session = await createSession(server);
    for (let i = 0; i < LIMIT - 1; i++) assert.equal((await stream(session.sessionId, key)).status, 200);
    assert.equal((await socket(key)).refused, undefined);

    const refused = await refusedStream(session.sessionId, key);
    assert.equal(refused.status, 429);
    assert.equal(refused.retryAfter, '5');
    assert.equal(refused.body.success, false);
    assert.equal(refused.body.error.code, 'RATE_LIMITED');
    assert.match(refused.body.error.details, /At most 3/);

    const extraSocket = await socket(key);
    const refusal = extraSocket.refused;
    assert.ok(typeof refusal === 'object', JSON.stringify(refusal));
    assert.equal(refusal.success, false, JSON.stringify(refusal));
    assert.equal(refusal.error.code, 'RATE_LIMITED');

    // Another key, and the session's own token, have places of their own.
    const other = await createKey(server, ['sessions:read']);
    assert.equal((await stream(session.sessionId, other.key)).status, 200);
    assert.equal((await stream(session.sessionId, session.sessionToken)).status, 200);
  });

  test('a closed stream or socket gives its place back', async () => {
    const { key } = await createKey(server, ['sessions:read']);
    const session = await createSession(server);
    const first = await stream(session.sessionId, key);
    await stream(session.sessionId, key);
    const { socket: s } = await socket(key);
    assert.equal((await refusedStream(session.sessionId, key)).status, 429);

    first.close();
    await eventuallyOpens(session.sessionId, key);
    assert.equal((await refusedStream(session.sessionId, key)).status, 429);

    s.close();
    await eventuallyOpens(session.sessionId, key);
  });

  test('a stream the server ends (session deleted) gives its place back', async () => {
    const { key } = await createKey(server, ['sessions:read']);
    const sessions = await Promise.all([createSession(server), createSession(server), createSession(server)]);
    const opened = await Promise.all(sessions.map((s) => stream(s.sessionId, key)));
    const spare = await createSession(server);
    assert.equal((await refusedStream(spare.sessionId, key)).status, 429);
    assert.equal((await server.request('DELETE', `${S}/${sessions[0].sessionId}`)).status, 200);
    await opened[0]!.ended;
    await eventuallyOpens(spare.sessionId, key);
  });
});

const scaled = process.env.TEST_STORE === 'postgres';

describe('MAX_STREAMS_PER_CREDENTIAL across a fleet', () => {
  test(
    'two instances on one database and Redis share the count',
    { skip: scaled ? false : 'scaled mode only (runs in the PostgreSQL + Redis pass)' },
    async () => {
      const other = await joinInstance(server, { MAX_STREAMS_PER_CREDENTIAL: String(LIMIT) });
      const opened: SseConnection[] = [];
      try {
        const { key } = await createKey(server, ['sessions:read']);
        const session = await createSession(server);
        const on = async (where: TestServer) => {
          const sse = await openSse(`${where.url}${S}/${session.sessionId}/events`, { headers: { authorization: `Bearer ${key}` } });
          opened.push(sse);
          return sse;
        };
        const first = await on(server);
        assert.equal(first.status, 200);
        assert.equal((await on(server)).status, 200);
        assert.equal((await on(other)).status, 200);

        const res = await other.request('GET', `${S}/${session.sessionId}/events`, { token: key });
        assert.equal(res.status, 429);
        assert.equal(res.body.error.code, 'RATE_LIMITED');
        const { refused } = await new Promise<{ refused?: Refusal }>((resolve) => {
          const s = connect(other.url, { path: '/socket.io', auth: { token: key }, transports: ['websocket'], reconnection: false });
          sockets.push(s);
          s.once('connect', () => resolve({}));
          s.once('connect_error', (error: Error & { data?: Refusal }) => resolve({ refused: error.data }));
        });
        assert.equal(refused?.error?.code, 'RATE_LIMITED');

        // A place given back on one instance can be taken on the other.
        first.close();
        const again = await poll(
          () => tryStream(other, session.sessionId, key),
          (s) => s.status === 200,
          'the place closed on one instance to be free on the other',
          {
            ms: 10_000,
            every: 20,
          },
        );
        opened.push(again);
      } finally {
        opened.forEach((s) => s.close());
        await other.close({ keepData: true });
      }
    },
  );
});
