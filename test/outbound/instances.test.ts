/**
 * Deliveries across instances (SPEC §11): a delivery pending on an instance killed with
 * SIGKILL while it was sending is sent by the next instance once its lease runs out, with the
 * same event id (both stores: real server processes); three instances on one PostgreSQL
 * database deliver every event once, in order per session (scaled pass).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startInstances, startProcess, type ServerProcess } from '../support/instances.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';
import { startRecordingServer, type RecordedRequest } from '../support/recording-server.js';
import { ELIZA, UNLIMITED_RATES, createSession, send, type TestServer } from '../support/server.js';
import { eventually, poll, sleep } from '../support/wait.js';

const KEY = 'webhook-instances-key-0123456789abcdef';
const scaled = process.env.TEST_STORE === 'postgres';

test('a delivery held by an instance killed with SIGKILL is sent by the next one, same event id', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-webhook-kill-'));
  const databaseUrl = scaled ? await createTestDatabase() : join(dir, 'sessions.db');
  // Scaled runs share Redis, and its rate-limit windows (the configured key's among them),
  // with the other suites; this test is not about them.
  const env = {
    ...UNLIMITED_RATES,
    WEBHOOK_TIMEOUT_SECONDS: '1',
    ...(scaled ? { REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' } : {}),
  };
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;
  // The first attempt is never answered: its instance dies while holding the delivery.
  let answered = 0;
  const receiver = await startRecordingServer(async (request: RecordedRequest, res) => {
    if (request.headers['x-event-type'] !== 'session.created') return void res.writeHead(200).end();
    if (answered++ === 0) return; // hangs until the connection goes away
    res.writeHead(200).end();
  });
  try {
    first = await startProcess({ databaseUrl, key: KEY, env });
    const hook = await send(first.url, 'POST', '/api/webhooks', {
      token: KEY,
      body: { url: receiver.origin, events: ['session.created'] },
    });
    assert.equal(hook.status, 201, hook.text);
    const firstAttempt = receiver.nextRequest();
    const created = await send(first.url, 'POST', '/api/messaging/sessions', {
      token: KEY,
      body: { agentId: ELIZA, userId: randomUUID() },
    });
    assert.equal(created.status, 201);
    const held = await firstAttempt;
    assert.equal(held.headers['x-event-id'], `${created.body.sessionId}:1`);
    await first.kill9();

    const retried = receiver.nextRequest();
    const restartedAt = Date.now();
    second = await startProcess({ databaseUrl, key: KEY, env });
    const again = await retried;
    assert.equal(again.headers['x-event-id'], held.headers['x-event-id']);
    assert.equal(again.rawBody.toString(), held.rawBody.toString(), 'the same delivery, byte for byte');
    // The lease (2 × WEBHOOK_TIMEOUT_SECONDS + 2 s) had to run out first; then the poll found it.
    assert.ok(Date.now() - restartedAt < 15_000);

    const running = second;
    const log = await poll(
      async () =>
        (await send(running.url, 'GET', `/api/webhooks/${hook.body.id}/deliveries`, { token: KEY })).body.deliveries as Array<
          Record<string, unknown>
        >,
      (deliveries) => deliveries[0]?.status === 'delivered',
      'the delivery to be marked delivered',
      { every: 100 },
    );
    assert.deepEqual(
      log.map((d) => [d.status, d.attempts, d.lastStatus]),
      [['delivered', 1, 200]],
    );
    assert.equal(receiver.requests.length, 2, 'no other attempt');
  } finally {
    for (const running of [first, second]) await running?.kill9();
    await receiver.close();
    if (scaled) await dropTestDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'three instances deliver every event once, in order per session',
  { skip: scaled ? false : 'scaled mode only (runs in the PostgreSQL + Redis pass)', timeout: 60_000 },
  async () => {
    const fleet = await startInstances(3, {}, { background: true });
    const [a, b, c] = fleet.all as [TestServer, TestServer, TestServer];
    const receiver = await startRecordingServer(async (_request, res) => {
      // A little work per request, so that attempts overlap across instances.
      await sleep(2);
      res.writeHead(200).end();
    });
    try {
      const hooks = [];
      for (const path of ['/one', '/two']) {
        const res = await a.request('POST', '/api/webhooks', { body: { url: `${receiver.origin}${path}`, events: ['*'] } });
        assert.equal(res.status, 201);
        hooks.push(res.body.id);
      }
      const instances = [a, b, c];
      const sessions = await Promise.all(Array.from({ length: 12 }, (_, i) => createSession(instances[i % 3]!)));
      // Renewals on every instance, interleaved: four more events per session.
      await Promise.all(
        sessions.map(async (s, i) => {
          for (let k = 0; k < 4; k++) {
            const res = await instances[(i + k) % 3]!.request('POST', `/api/messaging/sessions/${s.sessionId}/renew`);
            assert.equal(res.status, 200);
          }
        }),
      );
      const expected = sessions.length * 5 * hooks.length;
      await eventually(() => receiver.requests.length >= expected, 'every delivery', { ms: 20_000, every: 50 });
      // Stopped instances send nothing more (attempts in flight finish first): a duplicate would
      // have arrived by then.
      await fleet.close();
      assert.equal(receiver.requests.length, expected, 'every event to every webhook, once');
      const seen = new Set(receiver.requests.map((r) => `${String(r.headers['x-webhook-id'])} ${String(r.headers['x-event-id'])}`));
      assert.equal(seen.size, expected, 'no duplicates');
      for (const hook of hooks) {
        for (const s of sessions) {
          const seqs = receiver.requests
            .filter((r) => r.headers['x-webhook-id'] === hook && r.body.sessionId === s.sessionId)
            .map((r) => r.body.seq);
          assert.deepEqual(seqs, [1, 2, 3, 4, 5], 'in order per session');
        }
      }
    } finally {
      await receiver.close();
      await fleet.close();
    }
  },
);
