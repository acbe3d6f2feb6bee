/** Socket.IO on the server's port, driven by the real socket.io-client. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { MINUTE } from '../support/clock.js';
import { ADMIN_KEY, createSession, startServer, type TestServer } from '../support/server.js';
import { emitAck, openSocket } from '../support/socketio-client.js';
import { eventually } from '../support/wait.js';
import type { MessageView } from '../../src/domain/message.js';

let server: TestServer;
const sockets: Socket[] = [];
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.close());
  await server.close();
});

const open = (token: string | undefined = ADMIN_KEY): Promise<Socket> => openSocket(server, token, sockets);

/** What the socket receives: a session event (its seq, its data) or a messageBroadcast. */
interface SocketPayload {
  seq: number;
  roomId?: string;
  data: { message?: MessageView; chunk?: string };
}

/** Collects every event the socket receives, by name. */
function record(socket: Socket) {
  const seen: Array<{ name: string; payload: SocketPayload }> = [];
  socket.onAny((name, payload) => seen.push({ name, payload }));
  return seen;
}

test('join, then messages, chunks and messageBroadcast arrive under their type names', async () => {
  const s = await createSession(server);
  const socket = await open();
  const seen = record(socket);
  assert.deepEqual(await emitAck(socket, 'join', { sessionId: s.sessionId }), { ok: true });
  const sent = await server.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, {
    body: { content: 'Hello there', transport: 'http' },
  });
  assert.equal(sent.status, 201);
  await eventually(() => seen.some((e) => e.name === 'messageBroadcast'), 'messageBroadcast');
  await eventually(() => seen.filter((e) => e.name === 'message.created').length === 2, 'both messages');

  const created = seen.filter((e) => e.name === 'message.created').map((e) => e.payload);
  assert.equal(created[0]?.data.message?.id, sent.body.id);
  assert.equal(created[1]?.data.message?.id, sent.body.agentResponse.id);
  const chunks = seen.filter((e) => e.name === 'message.chunk').map((e) => e.payload.data);
  assert.equal(chunks.map((c) => c.chunk).join(''), sent.body.agentResponse.text);
  const seqs = seen.filter((e) => e.name.includes('.')).map((e) => e.payload.seq);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'in seq order',
  );

  const broadcast = seen.find((e) => e.name === 'messageBroadcast')!.payload;
  assert.deepEqual(broadcast, {
    id: sent.body.agentResponse.id,
    senderId: s.agentId,
    senderName: 'Eliza',
    text: sent.body.agentResponse.text,
    channelId: s.channelId,
    roomId: s.channelId,
    createdAt: Date.parse(sent.body.agentResponse.createdAt),
    source: 'agent-sessions',
    // SPEC §10: every Socket.IO payload carries the event's seq.
    seq: created[1]?.seq,
  });
});

test('warning and expiry are pushed; the room is cleaned up after expiry', async () => {
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5, warningThresholdMinutes: 1 } });
  const socket = await open();
  const seen = record(socket);
  await emitAck(socket, 'join', { sessionId: s.sessionId });
  server.clock.advance(4 * MINUTE);
  await server.app.scheduler.tick();
  await eventually(() => seen.some((e) => e.name === 'session.warning'), 'warning');
  server.clock.advance(1 * MINUTE);
  await server.app.scheduler.tick();
  await eventually(() => seen.some((e) => e.name === 'session.expired'), 'expiry');
  assert.deepEqual(
    seen.filter((e) => e.name.startsWith('session.')).map((e) => [e.name, e.payload.seq]),
    [
      ['session.warning', 2],
      ['session.expired', 3],
    ],
  );
  await eventually(() => server.app.fanout.subscriberCount(s.sessionId) === 0, 'room cleanup');
});

test('the elizaOS room-joining message joins the session owning the channel', async () => {
  const s = await createSession(server);
  const socket = await open();
  const seen = record(socket);
  assert.deepEqual(await emitAck(socket, 'message', { type: 1, payload: { channelId: s.channelId } }), { ok: true });
  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  server.clock.advance(1000);
  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, { body: { content: 'hi', transport: 'http' } });
  await eventually(() => seen.some((e) => e.name === 'messageBroadcast'), 'messageBroadcast');
  assert.equal(seen.find((e) => e.name === 'messageBroadcast')!.payload.roomId, s.channelId);
});

test('leave and disconnect unsubscribe; one subscription per room however many members', async () => {
  const s = await createSession(server);
  const a = await open();
  const b = await open();
  await emitAck(a, 'join', { sessionId: s.sessionId });
  await emitAck(b, 'join', { sessionId: s.sessionId });
  assert.equal(server.app.fanout.subscriberCount(s.sessionId), 1);
  const seenByA = record(a);
  assert.deepEqual(await emitAck(a, 'leave', { sessionId: s.sessionId }), { ok: true });
  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
  assert.equal(server.app.fanout.subscriberCount(s.sessionId), 1, 'b is still there');
  b.close();
  await eventually(() => server.app.fanout.subscriberCount(s.sessionId) === 0, 'unsubscribe on disconnect');
  assert.equal(seenByA.filter((e) => e.name === 'session.renewed').length, 0, 'a left before the renewal');
});

test('join errors come back in the error envelope', async () => {
  const socket = await open();
  const missing = await emitAck(socket, 'join', { sessionId: '5b0a3d0e-4d7a-4f6c-9a59-2d2b8e3c1f00' });
  assert.equal(missing.success, false);
  assert.equal(missing.error?.code, 'SESSION_NOT_FOUND');
  const invalid = await emitAck(socket, 'join', {});
  assert.equal(invalid.error?.code, 'VALIDATION_ERROR');
  const s = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
  server.clock.advance(5 * MINUTE);
  const expired = await emitAck(socket, 'join', { sessionId: s.sessionId });
  assert.equal(expired.error?.code, 'SESSION_EXPIRED');
  const unknownChannel = await emitAck(socket, 'message', { type: 1, payload: { channelId: 'nope' } });
  assert.equal(unknownChannel.error?.code, 'SESSION_NOT_FOUND');
});
