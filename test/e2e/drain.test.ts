/**
 * Graceful shutdown of the real server process on a real SIGTERM: it stops being ready and
 * refuses new requests with the error envelope at once, ends event streams with a `retry:`
 * hint, lets a request in flight finish (a reply that completes inside the grace period is
 * answered and stored) and fails a reply that outlives it with `agentError`, then exits 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from '../../src/app.js';
import { parseSettings } from '../../src/settings.js';
import { startFakeWebhook } from '../support/fake-webhook.js';
import { startProcess, type ServerProcess } from '../support/instances.js';
import { send, USER } from '../support/server.js';
import { eventually, poll } from '../support/wait.js';

const KEY = 'drain-test-key-0123456789abcdef';
/** A test stuck past this fails, and its server process is killed (support/children.ts), rather than holding up the run. */
const PROCESS_TEST_MS = 120_000;
const BASE = '/api/messaging/sessions';

/** The contents of the session's stored messages, read from the SQLite file once the process is gone. */
async function storedContents(dir: string, sessionId: string): Promise<string[]> {
  const app = await createApp(
    parseSettings({ DATABASE_URL: join(dir, 'sessions.db'), PORT: '0', LOG_LEVEL: 'silent', SESSIONS_API_KEY: KEY }),
    { background: false },
  );
  try {
    return (await app.store.recentMessages(sessionId, 10)).map((m) => m.content);
  } finally {
    await app.close();
  }
}

const callOn = (server: ServerProcess) => (method: string, path: string, body?: unknown) =>
  send(server.url, method, path, { token: KEY, body });

const startDraining = (databasePath: string, graceSeconds: number, extra: Record<string, string> = {}): Promise<ServerProcess> =>
  startProcess({
    databaseUrl: databasePath,
    key: KEY,
    readyPath: '/readyz',
    env: { SHUTDOWN_GRACE_SECONDS: String(graceSeconds), ...extra },
  });

test(
  'SIGTERM drains: not ready, 503 to new requests, streams told to retry, in-flight work finishes or fails, exit 0',
  { timeout: PROCESS_TEST_MS },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-drain-'));
    let release!: () => void;
    const hook = await startFakeWebhook({ kind: 'gated', release: new Promise<void>((r) => (release = r)), text: 'finished in time' });
    let server: ServerProcess | undefined;
    try {
      const running = (server = await startDraining(join(dir, 'sessions.db'), 2));
      const call = callOn(running);
      assert.deepEqual((await call('GET', '/readyz')).body, { status: 'ready' });
      const agent = await call('POST', '/api/agents', { name: 'Gated', provider: { type: 'webhook', url: hook.url, timeoutMs: 60_000 } });
      assert.equal(agent.status, 201, agent.text);
      const session = (await call('POST', BASE, { agentId: agent.body.id, userId: USER })).body;
      const path = `${BASE}/${session.sessionId}`;

      // An open event stream, and an http-transport send waiting on the agent.
      const events = await fetch(`${server.url}${path}/events`, { headers: { authorization: `Bearer ${KEY}` } });
      assert.equal(events.status, 200);
      const streamText = events.text();
      const waiting = call('POST', `${path}/messages`, { content: 'will you make it?', transport: 'http' });
      await hook.nextRequest();

      server.child.kill('SIGTERM');
      // Draining: not ready, new requests refused with the envelope (a new connection each time).
      const refused = await poll(
        () => send(running.url, 'GET', path, { token: KEY, headers: { connection: 'close' } }),
        (res) => res.status === 503,
        'new requests to be refused',
        { ms: 1000, every: 20 },
      );
      assert.deepEqual(refused.body, {
        success: false,
        error: { code: 'SERVICE_UNAVAILABLE', message: 'The server is shutting down', details: 'Retry on another instance' },
      });
      const ready = await send(server.url, 'GET', '/readyz', { token: null, headers: { connection: 'close' } });
      assert.equal(ready.status, 503);
      assert.equal(ready.body.error.code, 'SERVICE_UNAVAILABLE');

      // The event stream ends with the reconnect hint.
      assert.match(await streamText, /retry: 1000\n\n$/);

      // The agent answers inside the grace period: the waiting send gets its reply.
      release();
      const answered = await waiting;
      assert.equal(answered.status, 201);
      assert.equal(answered.body.agentResponse.text, 'finished in time');
      assert.equal(await server.exited, 0);

      // The reply was stored before the process went.
      assert.deepEqual(await storedContents(dir, session.sessionId), ['will you make it?', 'finished in time']);
    } finally {
      await server?.kill9();
      await hook.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'SIGTERM: a reply still running when the grace period ends fails with agentError and nothing is stored for it',
  { timeout: PROCESS_TEST_MS },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-drain-'));
    const hook = await startFakeWebhook({ kind: 'gated', release: new Promise<void>(() => {}), text: 'never' });
    let server: ServerProcess | undefined;
    try {
      server = await startDraining(join(dir, 'sessions.db'), 1);
      const call = callOn(server);
      const agent = await call('POST', '/api/agents', { name: 'Stuck', provider: { type: 'webhook', url: hook.url, timeoutMs: 60_000 } });
      const session = (await call('POST', BASE, { agentId: agent.body.id, userId: USER })).body;
      const path = `${BASE}/${session.sessionId}`;
      const waiting = call('POST', `${path}/messages`, { content: 'hello?', transport: 'http' });
      await hook.nextRequest();
      // A second session's send streaming its reply (transport sse): in flight too.
      const other = (await call('POST', BASE, { agentId: agent.body.id, userId: USER })).body;
      const streamed = await fetch(`${server.url}${BASE}/${other.sessionId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'and you?', transport: 'sse' }),
      });
      const streamedText = streamed.text();
      await hook.nextRequest();
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      const answered = await waiting;
      assert.equal(answered.status, 201);
      assert.deepEqual(answered.body.agentError, { code: 'AGENT_FAILED', message: 'The server shut down before the agent replied' });
      assert.ok(Date.now() - signalled >= 900, 'not before the grace period');
      const frames = await streamedText;
      assert.match(frames, /^event: user_message\n/);
      assert.match(frames, /event: error\ndata: \{"code":"AGENT_FAILED","message":"The server shut down before the agent replied"\}\n\n$/);
      assert.equal(await server.exited, 0);

      assert.deepEqual(await storedContents(dir, session.sessionId), ['hello?']);
    } finally {
      await server?.kill9();
      await hook.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'SIGTERM with SHUTDOWN_DELAY_SECONDS: not ready at once, still serving until the delay is over',
  { timeout: PROCESS_TEST_MS },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-drain-'));
    const fresh = { connection: 'close' };
    let server: ServerProcess | undefined;
    try {
      const running = (server = await startDraining(join(dir, 'sessions.db'), 1, { SHUTDOWN_DELAY_SECONDS: '2' }));
      const session = (
        await send(server.url, 'POST', BASE, { token: KEY, body: { agentId: '00000000-0000-4000-8000-000000000001', userId: USER } })
      ).body;
      server.child.kill('SIGTERM');
      await eventually(
        async () => (await send(running.url, 'GET', '/readyz', { token: null, headers: fresh })).status === 503,
        'not ready',
        {
          ms: 1000,
          every: 0,
        },
      );
      const served = await send(server.url, 'GET', `${BASE}/${session.sessionId}`, { token: KEY, headers: fresh });
      assert.equal(served.status, 200, 'still serving during the delay');
      assert.equal(await server.exited, 0);
    } finally {
      await server?.kill9();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
