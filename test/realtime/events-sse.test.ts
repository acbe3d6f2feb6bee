/** GET /events over real HTTP: live delivery, resume with Last-Event-ID, end of session. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { ADMIN_KEY, createSession, startServer, type TestServer } from '../support/server.js';
import { openSse, type SseConnection, type SseFrame } from '../support/sse-client.js';
import { eventually } from '../support/wait.js';

let server: TestServer;
beforeEach(async () => {
  server = await startServer({ SSE_HEARTBEAT_SECONDS: '1' });
});
afterEach(() => server.close());

const auth = { authorization: `Bearer ${ADMIN_KEY}` };
const eventsUrl = (id: string) => `${server.url}/api/messaging/sessions/${id}/events`;

async function take(conn: SseConnection, count: number): Promise<SseFrame[]> {
  const frames: SseFrame[] = [];
  while (frames.length < count) frames.push(await conn.next());
  return frames;
}

test('live events arrive in seq order, with id = seq and the event JSON as data', async () => {
  const s = await createSession(server);
  const conn = await openSse(eventsUrl(s.sessionId), { headers: auth });
  assert.equal(conn.status, 200);
  assert.match(conn.headers.get('content-type') ?? '', /^text\/event-stream/);
  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, {
    body: { content: 'I need some help', transport: 'http' },
  });
  const stored = await server.app.store.eventsAfter(s.sessionId, 0, 100);
  const frames = await take(conn, stored.length);
  assert.deepEqual(
    frames.map((f) => Number(f.id)),
    stored.map((e) => e.seq),
  );
  assert.deepEqual(
    frames.map((f) => f.event),
    stored.map((e) => e.type),
  );
  assert.deepEqual(
    frames.map((f) => f.data),
    JSON.parse(JSON.stringify(stored)),
  );
  // the session's creation, user message, renewal, the agent's chunks, the agent's message
  assert.equal(frames[0]!.event, 'session.created');
  assert.equal(frames[0]!.id, '1');
  assert.deepEqual(frames[0]!.data.data, JSON.parse(JSON.stringify(s, (k, v) => (k === 'sessionToken' ? undefined : v))));
  assert.equal(frames[1]!.event, 'message.created');
  assert.equal(frames[1]!.data.data.message.isAgent, false);
  assert.equal(frames[2]!.event, 'session.renewed');
  const chunks = frames.filter((f) => f.event === 'message.chunk').map((f) => f.data.data);
  const last = frames[frames.length - 1]!;
  assert.equal(last.event, 'message.created');
  assert.equal(last.data.data.message.isAgent, true);
  assert.deepEqual(
    chunks.map((c) => c.index),
    chunks.map((_, i) => i),
  );
  assert.equal(chunks.map((c) => c.chunk).join(''), last.data.data.message.content);
  assert.ok(chunks.every((c) => c.messageId === last.data.data.message.id));
  conn.close();
});

test('a reconnect with Last-Event-ID gets every missed event once, then live ones', async () => {
  const s = await createSession(server);
  const hb = () => server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  const first = await openSse(eventsUrl(s.sessionId), { headers: auth });
  server.clock.advance(1000);
  await hb();
  server.clock.advance(1000);
  await hb();
  const seen = await take(first, 3);
  assert.deepEqual(
    seen.map((f) => [f.id, f.event]),
    [
      ['1', 'session.created'],
      ['2', 'session.renewed'],
      ['3', 'session.renewed'],
    ],
  );
  first.close();
  await first.ended;

  for (let i = 0; i < 3; i++) {
    server.clock.advance(1000);
    await hb();
  }
  const second = await openSse(eventsUrl(s.sessionId), { headers: { ...auth, 'last-event-id': '3' } });
  const missed = await take(second, 3);
  assert.deepEqual(
    missed.map((f) => f.id),
    ['4', '5', '6'],
  );
  server.clock.advance(1000);
  await hb();
  assert.equal((await second.next()).id, '7');
  second.close();

  // ?lastEventId= works the same for clients that cannot set headers
  const third = await openSse(`${eventsUrl(s.sessionId)}?lastEventId=6`, { headers: auth });
  assert.equal((await third.next()).id, '7');
  third.close();
});

test('warning and expiry are pushed; the stream then ends and nothing leaks', async () => {
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5, warningThresholdMinutes: 2 } });
  const conn = await openSse(eventsUrl(s.sessionId), { headers: auth });
  await eventually(() => server.app.fanout.subscriberCount(s.sessionId) === 1, '1 subscriber(s)');
  assert.equal((await conn.next()).event, 'session.created');
  server.clock.advance(3 * MINUTE);
  await server.app.scheduler.tick();
  const warning = await conn.next();
  assert.equal(warning.event, 'session.warning');
  assert.equal(warning.data.data.timeRemaining, 2 * MINUTE);
  server.clock.advance(2 * MINUTE);
  await server.app.scheduler.tick();
  const expired = await conn.next();
  assert.equal(expired.event, 'session.expired');
  assert.equal(expired.data.seq, 3);
  await conn.ended;
  await eventually(() => server.app.fanout.subscriberCount(s.sessionId) === 0, '0 subscriber(s)');
});

test('DELETE ends the stream with session.ended', async () => {
  const s = await createSession(server);
  const conn = await openSse(eventsUrl(s.sessionId), { headers: auth });
  await eventually(() => server.app.fanout.subscriberCount(s.sessionId) === 1, '1 subscriber(s)');
  assert.equal((await conn.next()).event, 'session.created');
  await server.request('DELETE', `/api/messaging/sessions/${s.sessionId}`);
  const ended = await conn.next();
  assert.equal(ended.event, 'session.ended');
  assert.equal(ended.data.sessionId, s.sessionId);
  await conn.ended;
});

test('a client that goes away is unsubscribed', async () => {
  const s = await createSession(server);
  const conns = await Promise.all([1, 2, 3].map(() => openSse(eventsUrl(s.sessionId), { headers: auth })));
  await eventually(() => server.app.fanout.subscriberCount(s.sessionId) === 3, '3 subscriber(s)');
  conns.forEach((c) => c.close());
  await eventually(() => server.app.fanout.subscriberCount(s.sessionId) === 0, '0 subscriber(s)');
});

test('heartbeat comments keep an idle stream alive', async () => {
  const s = await createSession(server);
  const conn = await openSse(eventsUrl(s.sessionId), { headers: auth });
  await eventually(() => conn.comments.includes('keep-alive'), 'a keep-alive comment');
  conn.close();
});

test('errors: unknown session 404, expired 410, bad Last-Event-ID 400', async () => {
  const missing = await server.request('GET', '/api/messaging/sessions/5b0a3d0e-4d7a-4f6c-9a59-2d2b8e3c1f00/events');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'SESSION_NOT_FOUND');
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
  const bad = await server.request('GET', `/api/messaging/sessions/${s.sessionId}/events`, { headers: { 'last-event-id': 'abc' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'VALIDATION_ERROR');
  server.clock.advance(5 * MINUTE);
  const gone = await server.request('GET', `/api/messaging/sessions/${s.sessionId}/events`);
  assert.equal(gone.status, 410);
  assert.equal(gone.body.error.code, 'SESSION_EXPIRED');
});

test('transport sse: user_message, chunks from index 0, done; chunks make the stored reply', async () => {
  const s = await createSession(server);
  const conn = await openSse(`${server.url}/api/messaging/sessions/${s.sessionId}/messages`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'Why do you ask about my mother?', transport: 'sse' }),
  });
  assert.equal(conn.status, 200);
  const frames: SseFrame[] = [];
  for (;;) {
    const frame = await conn.next();
    frames.push(frame);
    if (frame.event === 'done' || frame.event === 'error') break;
  }
  await conn.ended;
  assert.equal(frames[0]!.event, 'user_message');
  assert.equal(frames[0]!.data.content, 'Why do you ask about my mother?');
  const chunks = frames.filter((f) => f.event === 'chunk').map((f) => f.data);
  assert.ok(chunks.length > 1, 'ELIZA streams word by word');
  assert.deepEqual(
    chunks.map((c) => c.index),
    chunks.map((_, i) => i),
  );
  const done = frames[frames.length - 1]!;
  assert.equal(done.event, 'done');
  assert.equal(chunks.map((c) => c.chunk).join(''), done.data.message.content);
  assert.ok(chunks.every((c) => c.messageId === done.data.message.id));
  const history = await server.request('GET', `/api/messaging/sessions/${s.sessionId}/messages`);
  assert.equal(history.body.messages[0].id, done.data.message.id);
  assert.equal(history.body.messages[0].content, done.data.message.content);
  assert.deepEqual(Object.keys(done.data.sessionStatus).sort(), ['expiresAt', 'isNearExpiration', 'renewalCount', 'wasRenewed']);
});
