/**
 * Deliveries across instances (SPEC §11): a delivery pending on an instance killed with
 * SIGKILL while it was sending is sent by the next instance once its lease runs out, with the
 * same event id (both stores: real server processes); three instances on one PostgreSQL
 * database deliver every event once, in order per session (scaled pass).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ManualClock } from '../support/clock.js';
import { createTestDatabase, dropTestDatabase } from '../support/postgres.js';
import { startRecordingServer, type RecordedRequest } from '../support/recording-server.js';
import { randomUUID } from 'node:crypto';
import { ELIZA, createSession, send, startServer } from '../support/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEY = 'webhook-instances-key-0123456789abcdef';
const scaled = process.env.TEST_STORE === 'postgres';

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface Running {
  child: ChildProcess;
  url: string;
}

/** `node --import tsx src/main.ts` on `databaseUrl`, waited for until /healthz answers. */
async function startProcess(databaseUrl: string, env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(childEnv)) {
    if (/^(REDIS_URL|HOST|AUTH_DISABLED|AGENTS_DIR|WEBHOOK_|OUTBOUND_|SESSION_|RATE_LIMIT_)/.test(name)) delete childEnv[name];
  }
  Object.assign(childEnv, {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    SESSIONS_API_KEY: KEY,
    // Scaled runs share Redis, and its rate-limit windows (the configured key's among them),
    // with the other suites; this test is not about them.
    RATE_LIMIT_SESSION_PER_MINUTE: '1000000',
    RATE_LIMIT_USER_PER_HOUR: '1000000',
    RATE_LIMIT_AGENT_PER_HOUR: '1000000',
    RATE_LIMIT_KEY_PER_MINUTE: '1000000',
    ...env,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return { child, url };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start within 30 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function kill9(running: Running): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGKILL');
  await exited;
}

test('a delivery held by an instance killed with SIGKILL is sent by the next one, same event id', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-webhook-kill-'));
  const databaseUrl = scaled ? await createTestDatabase() : join(dir, 'sessions.db');
  const env = { WEBHOOK_TIMEOUT_SECONDS: '1', ...(scaled ? { REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' } : {}) };
  let first: Running | undefined;
  let second: Running | undefined;
  // The first attempt is never answered: its instance dies while holding the delivery.
  let answered = 0;
  const receiver = await startRecordingServer(async (request: RecordedRequest, res) => {
    if (request.headers['x-event-type'] !== 'session.created') return void res.writeHead(200).end();
    if (answered++ === 0) return; // hangs until the connection goes away
    res.writeHead(200).end();
  });
  try {
    first = await startProcess(databaseUrl, env);
    const hook = await send(first.url, 'POST', '/api/webhooks', { token: KEY, body: { url: receiver.origin, events: ['session.created'] } });
    assert.equal(hook.status, 201, hook.text);
    const firstAttempt = receiver.nextRequest();
    const created = await send(first.url, 'POST', '/api/messaging/sessions', { token: KEY, body: { agentId: ELIZA, userId: randomUUID() } });
    assert.equal(created.status, 201);
    const held = await firstAttempt;
    assert.equal(held.headers['x-event-id'], `${created.body.sessionId}:1`);
    await kill9(first);

    const retried = receiver.nextRequest();
    const restartedAt = Date.now();
    second = await startProcess(databaseUrl, env);
    const again = await retried;
    assert.equal(again.headers['x-event-id'], held.headers['x-event-id']);
    assert.equal(again.rawBody.toString(), held.rawBody.toString(), 'the same delivery, byte for byte');
    // The lease (2 × WEBHOOK_TIMEOUT_SECONDS + 2 s) had to run out first; then the poll found it.
    assert.ok(Date.now() - restartedAt < 15_000);

    let log: any[] = [];
    for (let i = 0; i < 50; i++) {
      log = (await send(second.url, 'GET', `/api/webhooks/${hook.body.id}/deliveries`, { token: KEY })).body.deliveries;
      if (log[0]?.status === 'delivered') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual([log.length, log[0].status, log[0].attempts, log[0].lastStatus], [1, 'delivered', 1, 200]);
    assert.equal(receiver.requests.length, 2, 'no other attempt');
  } finally {
    for (const running of [first, second]) if (running) await kill9(running);
    await receiver.close();
    if (scaled) await dropTestDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('three instances deliver every event once, in order per session', { skip: scaled ? false : 'scaled mode only (runs in the PostgreSQL + Redis pass)', timeout: 60_000 }, async () => {
  const clock = new ManualClock();
  const a = await startServer({}, clock, undefined, { background: true });
  const b = await startServer({}, clock, a.storage, { background: true });
  const c = await startServer({}, clock, a.storage, { background: true });
  const receiver = await startRecordingServer(async (_request, res) => {
    // A little work per request, so that attempts overlap across instances.
    await new Promise((resolve) => setTimeout(resolve, 2));
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
    const deadline = Date.now() + 20_000;
    while (receiver.requests.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 600)); // a duplicate would arrive by now
    assert.equal(receiver.requests.length, expected, 'every event to every webhook, once');
    const seen = new Set(receiver.requests.map((r) => `${r.headers['x-webhook-id']} ${r.headers['x-event-id']}`));
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
    await c.close({ keepData: true });
    await b.close({ keepData: true });
    await a.close();
  }
});
