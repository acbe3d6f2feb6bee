/**
 * Webhook deliveries to a real receiver on a real port (SPEC §11): body and headers, the
 * signature, order per session, retries after 500s and after timeouts with the same event id,
 * backoff and the maximum age on the injected clock, disabled and deleted webhooks, deleted
 * sessions, redirects. `app.deliveries.tick()` is what the background loop runs.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { afterEach, test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { startRecordingServer, type RecordedRequest, type RecordingServer } from '../support/recording-server.js';
import { ELIZA, createSession, startServer, type TestServer } from '../support/server.js';

const SECRET_ENV = 'AGENT_SECRET_WEBHOOK_DELIVERY_TEST';
const SECRET = 'delivery-test-secret-0123456789';
process.env[SECRET_ENV] = SECRET;

let server: TestServer | undefined;
let receiver: RecordingServer | undefined;
afterEach(async () => {
  await server?.close();
  await receiver?.close();
  server = receiver = undefined;
});

type Responder = (request: RecordedRequest, res: ServerResponse) => Promise<void> | void;
const answer =
  (status: number): Responder =>
  (_req, res) =>
    void res.writeHead(status).end();

/** A receiver answering each request with the next responder in line (the last one repeats). */
async function startReceiver(...responders: Responder[]): Promise<RecordingServer> {
  let i = 0;
  receiver = await startRecordingServer(async (request, res) => {
    const responder = responders[Math.min(i++, responders.length - 1)] ?? answer(200);
    await responder(request, res);
  });
  return receiver;
}

async function webhook(s: TestServer, body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await s.request('POST', '/api/webhooks', { body: { events: ['*'], ...body } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

const deliveries = async (s: TestServer, id: string, query = '') =>
  (await s.request('GET', `/api/webhooks/${id}/deliveries${query}`)).body.deliveries;

test('each event is POSTed signed, with the event, webhookId and eventId, in seq order', async () => {
  server = await startServer();
  const rec = await startReceiver();
  const hook = await webhook(server, { url: `${rec.origin}/hooks`, secretEnv: SECRET_ENV });
  const s = await createSession(server);
  server.clock.advance(1000);
  const sent = await server.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, {
    body: { content: 'I feel happy', transport: 'http' },
  });
  assert.equal(sent.status, 201);
  assert.ok((await server.app.deliveries.tick()) >= 4);

  const stored = (await server.app.store.eventsAfter(s.sessionId, 0, 100)).filter((e) => e.type !== 'message.chunk');
  assert.deepEqual(
    stored.map((e) => e.type),
    ['session.created', 'message.created', 'session.renewed', 'message.created'],
  );
  assert.equal(rec.requests.length, stored.length);
  rec.requests.forEach((request, i) => {
    const event = stored[i]!;
    const eventId = `${s.sessionId}:${event.seq}`;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/hooks');
    assert.deepEqual(request.body, { ...JSON.parse(JSON.stringify(event)), webhookId: hook.id, eventId });
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['x-webhook-id'], hook.id);
    assert.equal(request.headers['x-event-id'], eventId);
    assert.equal(request.headers['x-event-type'], event.type);
    const expected = `sha256=${createHmac('sha256', SECRET).update(request.rawBody).digest('hex')}`;
    assert.equal(request.headers['x-signature-256'], expected);
  });
  const { sessionToken: _token, ...info } = s;
  assert.deepEqual(rec.requests[0]!.body.data, info, 'session.created carries the SessionInfo');

  const log = await deliveries(server, hook.id);
  assert.equal(log.length, 4);
  for (const d of log) {
    assert.equal(d.status, 'delivered');
    assert.equal(d.attempts, 1);
    assert.equal(d.lastStatus, 200);
    assert.equal(d.lastError, null);
    assert.equal(d.nextAttemptAt, null);
    assert.equal(d.deliveredAt, new Date(server.clock.now()).toISOString());
  }
  assert.equal(await server.app.deliveries.tick(), 0, 'nothing is sent twice');
});

test('after a 500 the event is retried with backoff (1 s, 2 s, …), the same event id, and later events wait', async () => {
  server = await startServer();
  const rec = await startReceiver(answer(500), answer(503), answer(204));
  const hook = await webhook(server, { url: rec.origin, events: ['session.created', 'session.renewed'] });
  const s = await createSession(server);
  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/renew`);

  assert.equal(await server.app.deliveries.tick(), 1, 'seq 1 fails; seq 2 waits for it');
  let [renewed, created] = await deliveries(server, hook.id);
  assert.deepEqual([created.status, created.attempts, created.lastStatus, created.lastError], ['pending', 1, 500, 'HTTP 500']);
  assert.equal(created.nextAttemptAt, new Date(server.clock.now() + 1000).toISOString());
  assert.deepEqual([renewed.status, renewed.attempts], ['pending', 0]);

  server.clock.advance(999);
  assert.equal(await server.app.deliveries.tick(), 0, 'not before its time');
  server.clock.advance(1);
  assert.equal(await server.app.deliveries.tick(), 1);
  [renewed, created] = await deliveries(server, hook.id);
  assert.deepEqual(
    [created.attempts, created.lastStatus, created.nextAttemptAt],
    [2, 503, new Date(server.clock.now() + 2000).toISOString()],
  );

  server.clock.advance(2000);
  assert.equal(await server.app.deliveries.tick(), 2, 'seq 1 delivered, then seq 2 at once');
  assert.deepEqual(
    rec.requests.map((r) => r.headers['x-event-id']),
    [`${s.sessionId}:1`, `${s.sessionId}:1`, `${s.sessionId}:1`, `${s.sessionId}:2`],
  );
  assert.equal(rec.requests[0]!.rawBody.toString(), rec.requests[2]!.rawBody.toString(), 'the same body on every attempt');
  [renewed, created] = await deliveries(server, hook.id);
  assert.deepEqual([created.status, created.attempts, created.lastStatus], ['delivered', 3, 204]);
  assert.deepEqual([renewed.status, renewed.attempts, renewed.lastStatus], ['delivered', 1, 204]);
});

test('a receiver that does not answer within WEBHOOK_TIMEOUT_SECONDS is retried', async () => {
  server = await startServer({ WEBHOOK_TIMEOUT_SECONDS: '1' });
  const hang: Responder = (request, res) => request.closed.then(() => void res.destroy());
  const rec = await startReceiver(hang, answer(200));
  const hook = await webhook(server, { url: rec.origin, events: ['session.created'] });
  const s = await createSession(server);
  const started = Date.now();
  assert.equal(await server.app.deliveries.tick(), 1);
  assert.ok(Date.now() - started >= 900, 'the attempt waited for the timeout');
  const [first] = await deliveries(server, hook.id);
  assert.deepEqual([first.status, first.attempts, first.lastStatus, first.lastError], ['pending', 1, null, 'no answer within 1 s']);
  server.clock.advance(1000);
  assert.equal(await server.app.deliveries.tick(), 1);
  assert.deepEqual(
    rec.requests.map((r) => r.headers['x-event-id']),
    [`${s.sessionId}:1`, `${s.sessionId}:1`],
  );
  assert.equal((await deliveries(server, hook.id))[0].status, 'delivered');
});

test('retries stop after WEBHOOK_MAX_AGE_HOURS: failed, and the next event of the session goes', async () => {
  server = await startServer({ WEBHOOK_MAX_AGE_HOURS: '1' });
  const rec = await startReceiver(answer(500));
  const hook = await webhook(server, { url: rec.origin });
  const s = await createSession(server);
  await server.request('POST', `/api/messaging/sessions/${s.sessionId}/renew`);
  const gaps: number[] = [];
  for (let i = 0; i < 40; i++) {
    const before = server.clock.now();
    await server.app.deliveries.tick();
    const [, created] = await deliveries(server, hook.id);
    if (created.status !== 'pending') break;
    const wait = Date.parse(created.nextAttemptAt) - before;
    gaps.push(wait);
    server.clock.advance(wait);
  }
  assert.deepEqual(
    gaps.slice(0, 11),
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600].map((s) => s * 1000),
  );
  assert.ok(
    gaps.slice(10).every((g) => g === 600_000),
    'at most 10 min apart',
  );
  const [renewed, created] = await deliveries(server, hook.id);
  assert.equal(created.status, 'failed');
  assert.equal(created.attempts, gaps.length + 1);
  assert.equal(created.lastStatus, 500);
  assert.ok(server.clock.now() + 600_000 >= Date.parse(s.createdAt) + 60 * MINUTE, 'retried for the whole hour');
  assert.equal(renewed.attempts, 1, 'the next event was attempted once its predecessor finally failed');
});

test('filters: agentId, event types; a disabled webhook queues nothing; a deleted one drops its queue', async () => {
  server = await startServer();
  const rec = await startReceiver();
  const other = await server.request('POST', '/api/agents', { body: { name: 'Other', provider: { type: 'eliza' } } });
  const forOther = await webhook(server, { url: `${rec.origin}/other`, agentId: other.body.id });
  const ended = await webhook(server, { url: `${rec.origin}/ended`, events: ['session.ended'] });
  const disabled = await webhook(server, { url: `${rec.origin}/disabled`, enabled: false });
  const dropped = await webhook(server, { url: `${rec.origin}/dropped` });

  const s = await createSession(server); // ELIZA's
  await createSession(server, { agentId: other.body.id }); // the other agent's: for its webhook only
  // A deleted session's events, session.ended included, are still delivered.
  assert.equal((await server.request('DELETE', `/api/messaging/sessions/${s.sessionId}`)).status, 200);
  assert.equal((await deliveries(server, dropped.id)).length, 3);
  assert.equal((await server.request('DELETE', `/api/webhooks/${dropped.id}`)).status, 200);

  await server.app.deliveries.tick();
  const got = rec.requests.map((r) => `${r.path} ${r.body.type} ${r.body.sessionId === s.sessionId ? 's' : 'o'}`).sort();
  assert.deepEqual(got, ['/ended session.ended s', '/other session.created o']);
  assert.deepEqual(await deliveries(server, disabled.id), []);
  assert.equal((await deliveries(server, ended.id))[0].status, 'delivered');
  assert.equal((await deliveries(server, forOther.id)).length, 1);
  assert.ok(ELIZA !== other.body.id);
});

test('a redirect is not followed: it is a failed attempt', async () => {
  server = await startServer();
  const rec = await startReceiver((_req, res) => void res.writeHead(302, { location: '/elsewhere' }).end(), answer(200));
  const hook = await webhook(server, { url: `${rec.origin}/start`, events: ['session.created'] });
  await createSession(server);
  assert.equal(await server.app.deliveries.tick(), 1);
  assert.deepEqual(
    rec.requests.map((r) => r.path),
    ['/start'],
  );
  const [d] = await deliveries(server, hook.id);
  assert.deepEqual([d.status, d.lastStatus, d.lastError], ['pending', 302, 'HTTP 302']);
});

test('a secret variable that is not set: nothing is sent unsigned, the delivery waits', async () => {
  server = await startServer();
  const rec = await startReceiver();
  const hook = await webhook(server, { url: rec.origin, secretEnv: 'AGENT_SECRET_NOT_SET_ANYWHERE', events: ['session.created'] });
  await createSession(server);
  assert.equal(await server.app.deliveries.tick(), 1);
  assert.equal(rec.requests.length, 0);
  const [d] = await deliveries(server, hook.id);
  assert.deepEqual([d.status, d.lastStatus, d.lastError], ['pending', null, "the webhook's signing secret is not configured"]);
});

test('running in the background: the first attempt follows the event within a second', async () => {
  server = await startServer({}, undefined, undefined, { background: true });
  const rec = await startReceiver();
  await webhook(server, { url: rec.origin, events: ['session.created'] });
  const next = rec.nextRequest();
  const started = Date.now();
  const s = await createSession(server);
  const request = await next;
  assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
  assert.equal(request.body.sessionId, s.sessionId);
});
