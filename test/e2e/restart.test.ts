/**
 * Durability: the real server as a child process, killed with SIGKILL in the middle of its
 * work and started again on the same SQLite file. Every acknowledged write must be there:
 * sessions with the same expiry, renewal count and activity, messages with the same ids,
 * timestamps and order, idempotency keys, deletions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startProcess as startServerProcess, type ServerProcess } from '../support/instances.js';
import type { MessageView } from '../../src/domain/message.js';
import type { SessionInfo } from '../../src/domain/session.js';
import { ELIZA, send, USER, type RequestOptions, type TestResponse } from '../support/server.js';

const KEY = 'restart-test-key-0123456789abcdef';
const BASE = '/api/messaging/sessions';
const USER_B = '22222222-2222-4222-8222-222222222222';

type Running = ServerProcess;
const startProcess = (databasePath: string): Promise<Running> => startServerProcess({ databaseUrl: databasePath, key: KEY });
const kill9 = (running: Running): Promise<void> => running.kill9();

let dir: string;
let first: Running | undefined;
let second: Running | undefined;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-sessions-restart-'));
});
after(async () => {
  for (const running of [first, second]) if (running) await kill9(running);
  rmSync(dir, { recursive: true, force: true });
});

const call = (running: Running, method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> =>
  send(running.url, method, path, { token: KEY, ...options });

async function ok(res: Promise<TestResponse>, status = 200): Promise<TestResponse['body']> {
  const answer = await res;
  assert.equal(answer.status, status, answer.text);
  return answer.body;
}

/** SessionInfo without the fields that depend on the moment it is read. */
function durable(info: SessionInfo & { sessionToken?: string }) {
  const { timeRemaining: _remaining, isNearExpiration: _near, sessionToken: _token, ...rest } = info;
  return rest;
}

test('every acknowledged write survives kill -9 and a restart', { timeout: 120_000 }, async () => {
  const database = join(dir, 'sessions.db');
  first = await startProcess(database);
  const s = first;

  // Sessions in different states.
  const a = await ok(call(s, 'POST', BASE, { body: { agentId: ELIZA, userId: USER, metadata: { name: 'a' } } }), 201);
  const b = await ok(
    call(s, 'POST', BASE, {
      body: { agentId: ELIZA, userId: USER_B, timeoutConfig: { timeoutMinutes: 60, autoRenew: false, warningThresholdMinutes: 10 } },
    }),
    201,
  );
  const c = await ok(call(s, 'POST', BASE, { body: { agentId: ELIZA, userId: USER } }), 201);
  const d = await ok(call(s, 'POST', BASE, { body: { agentId: ELIZA, userId: USER } }), 201);

  const idempotent = await ok(
    call(s, 'POST', `${BASE}/${a.sessionId}/messages`, {
      body: { content: 'I remember my mother', transport: 'http' },
      headers: { 'idempotency-key': 'first' },
    }),
    201,
  );
  await ok(call(s, 'POST', `${BASE}/${a.sessionId}/messages`, { body: { content: 'She was kind', transport: 'http' } }), 201);
  await ok(call(s, 'POST', `${BASE}/${a.sessionId}/heartbeat`));
  await ok(call(s, 'POST', `${BASE}/${a.sessionId}/renew`));
  await ok(
    call(s, 'POST', `${BASE}/${b.sessionId}/messages`, { body: { content: 'Hello', metadata: { k: [1, 2] }, transport: 'sse' } }),
    200,
  );
  await ok(call(s, 'PATCH', `${BASE}/${b.sessionId}/timeout`, { body: { maxDurationMinutes: 100 } }));
  await ok(call(s, 'DELETE', `${BASE}/${d.sessionId}`));

  const before: Record<string, { info: SessionInfo; messages: MessageView[] }> = {};
  for (const id of [a.sessionId, b.sessionId]) {
    before[id] = {
      info: await ok(call(s, 'GET', `${BASE}/${id}`)),
      messages: (await ok(call(s, 'GET', `${BASE}/${id}/messages?limit=100`))).messages,
    };
  }
  assert.equal(before[a.sessionId]!.messages.length, 4);
  assert.equal(before[a.sessionId]!.info.renewalCount >= 3, true);
  assert.equal(before[b.sessionId]!.messages.length, 2);
  const listBefore = await ok(call(s, 'GET', `${BASE}?status=all`));

  // The last write is acknowledged, then the process dies at once: no chance to flush anything.
  const last = await ok(call(s, 'POST', `${BASE}/${c.sessionId}/messages`, { body: { content: 'Are you there?' } }), 201);
  await kill9(s);
  assert.equal(s.child.signalCode, 'SIGKILL');

  second = await startProcess(database);
  const r = second;

  for (const id of [a.sessionId, b.sessionId]) {
    const info = await ok(call(r, 'GET', `${BASE}/${id}`));
    assert.deepEqual(durable(info), durable(before[id]!.info));
    const messages = (await ok(call(r, 'GET', `${BASE}/${id}/messages?limit=100`))).messages;
    assert.deepEqual(messages, before[id]!.messages);
  }
  const cInfo = await ok(call(r, 'GET', `${BASE}/${c.sessionId}`));
  assert.equal(cInfo.lastActivity, last.createdAt);
  assert.equal(cInfo.renewalCount, last.sessionStatus.renewalCount);
  assert.equal(cInfo.expiresAt, last.sessionStatus.expiresAt);
  const cMessages = (await ok(call(r, 'GET', `${BASE}/${c.sessionId}/messages`))).messages;
  assert.deepEqual(cMessages.at(-1), last.userMessage, 'the acknowledged message is there');

  // A deleted session stays deleted.
  const gone = await call(r, 'GET', `${BASE}/${d.sessionId}`);
  assert.equal(gone.status, 404, gone.text);
  assert.equal(gone.body.error.code, 'SESSION_NOT_FOUND');

  // The list agrees (c may have gained its agent reply, which changes none of these fields).
  const listAfter = await ok(call(r, 'GET', `${BASE}?status=all`));
  assert.equal(listAfter.total, listBefore.total);
  assert.deepEqual(listAfter.stats, listBefore.stats);
  assert.deepEqual(
    listAfter.sessions.filter((x: SessionInfo) => x.sessionId !== c.sessionId).map(durable),
    listBefore.sessions.filter((x: SessionInfo) => x.sessionId !== c.sessionId).map(durable),
  );

  // The idempotency key survived: the retry gets the first answer, nothing new is stored.
  const retry = await ok(
    call(r, 'POST', `${BASE}/${a.sessionId}/messages`, {
      body: { content: 'I remember my mother', transport: 'http' },
      headers: { 'idempotency-key': 'first' },
    }),
    201,
  );
  assert.equal(retry.id, idempotent.id);
  assert.deepEqual(retry.agentResponse, idempotent.agentResponse);
  assert.equal((await ok(call(r, 'GET', `${BASE}/${a.sessionId}/messages?limit=100`))).messages.length, 4);

  // And the restarted server carries on: new activity continues the same timeline.
  const more = await ok(call(r, 'POST', `${BASE}/${a.sessionId}/messages`, { body: { content: 'Yes', transport: 'http' } }), 201);
  const newest = Date.parse(before[a.sessionId]!.messages[0]!.createdAt);
  assert.ok(Date.parse(more.createdAt) > newest);
  await kill9(r);
});
