/**
 * SPEC §10 "Socket.IO resume": `join {sessionId, lastSeq}` replays the stored events after
 * `lastSeq` in order, then the live ones, with no gap and no duplicate, across a forced
 * disconnect and while events are being produced. Real server, real socket.io-client.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { ADMIN_KEY, createSession, startServer, type TestServer } from '../support/server.js';
import { emitAck, openSocket } from '../support/socketio-client.js';
import type { SessionEvent } from '../../src/domain/events.js';
import { eventually } from '../support/wait.js';

let server: TestServer;
const sockets: Socket[] = [];
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.close());
  await server.close();
});

const open = (): Promise<Socket> => openSocket(server, ADMIN_KEY, sockets);

/** The session events a socket receives (those named `<kind>.<what>`), in arrival order. */
function record(socket: Socket) {
  const seen: SessionEvent[] = [];
  socket.onAny((name: string, payload) => {
    if (name.includes('.')) seen.push(payload);
  });
  return seen;
}

const say = (sessionId: string, content: string) =>
  server.request('POST', `/api/messaging/sessions/${sessionId}/messages`, { body: { content, transport: 'http' } });
const stored = (sessionId: string) => server.app.store.eventsAfter(sessionId, 0, 10_000);

test('resume after a forced disconnect: what was missed, then live, nothing lost or repeated', async () => {
  const s = await createSession(server);
  const first = await open();
  const before = record(first);
  assert.deepEqual(await emitAck(first, 'join', { sessionId: s.sessionId, lastSeq: 0 }), { ok: true });
  await say(s.sessionId, 'I feel tired');
  await server.app.replies.idle();
  await eventually(async () => before.length === (await stored(s.sessionId)).length, 'the first exchange');

  // The server drops the connection; events go on while the client is away.
  const lastSeen = before.at(-1)!.seq;
  server.app.io.in(first.id!).disconnectSockets(true);
  await eventually(() => first.disconnected, 'the forced disconnect');
  await say(s.sessionId, 'I dreamt of my mother');
  await server.app.replies.idle();

  const second = await open();
  const after = record(second);
  // A reply is being produced while the replay runs: live events race the stored ones.
  const talking = say(s.sessionId, 'Why do you ask');
  assert.deepEqual(await emitAck(second, 'join', { sessionId: s.sessionId, lastSeq: lastSeen }), { ok: true });
  await talking;
  await server.app.replies.idle();
  const all = await stored(s.sessionId);
  await eventually(() => (after.at(-1)?.seq ?? 0) === all.at(-1)!.seq, 'every event');

  const seqs = [...before, ...after].map((e) => e.seq);
  assert.deepEqual(
    seqs,
    all.map((e) => e.seq),
    'every event once, in order',
  );
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
  );
  assert.deepEqual([...before, ...after], all, 'the stored event objects exactly');
});

test('lastSeq beyond the stored events gives only later ones; without lastSeq only live ones', async () => {
  const s = await createSession(server);
  await say(s.sessionId, 'Hello');
  await server.app.replies.idle();
  const storedSeq = (await stored(s.sessionId)).at(-1)!.seq;

  const resumed = await open();
  const fromLast = record(resumed);
  assert.deepEqual(await emitAck(resumed, 'join', { sessionId: s.sessionId, lastSeq: storedSeq - 1 }), { ok: true });
  const live = await open();
  const liveOnly = record(live);
  assert.deepEqual(await emitAck(live, 'join', { sessionId: s.sessionId }), { ok: true });
  await eventually(() => fromLast.length === 1, 'the one missed event');
  assert.equal(fromLast[0]!.seq, storedSeq);

  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  server.clock.advance(1000);
  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  await eventually(() => liveOnly.length === 2 && fromLast.length === 3, 'the live renewals');
  assert.deepEqual(
    liveOnly.map((e) => [e.type, e.seq]),
    [
      ['session.renewed', storedSeq + 1],
      ['session.renewed', storedSeq + 2],
    ],
  );
  assert.deepEqual(
    fromLast.map((e) => e.seq),
    [storedSeq, storedSeq + 1, storedSeq + 2],
  );
});

test('a bad lastSeq is refused in the error envelope and joins nothing', async () => {
  const s = await createSession(server);
  const socket = await open();
  const seen = record(socket);
  for (const lastSeq of [-1, 1.5, '3', null, 2 ** 60]) {
    const answer = await emitAck(socket, 'join', { sessionId: s.sessionId, lastSeq });
    assert.equal(answer.success, false, String(lastSeq));
    assert.equal(answer.error?.code, 'VALIDATION_ERROR');
    assert.match(answer.error?.details ?? '', /lastSeq/);
  }
  assert.equal(server.app.fanout.subscriberCount(s.sessionId), 0);
  const heartbeat = () => server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  assert.equal((await heartbeat()).status, 200);
  // Then a good join (live only) and one more event: on one connection events arrive in order,
  // so had a refused join subscribed, the first renewal would come before this one.
  assert.deepEqual(await emitAck(socket, 'join', { sessionId: s.sessionId }), { ok: true });
  server.clock.advance(1000);
  assert.equal((await heartbeat()).status, 200);
  const last = (await stored(s.sessionId)).at(-1)!;
  await eventually(() => seen.length > 0, 'the renewal after the good join');
  assert.deepEqual(seen, [last], 'only what came after the good join');
});
