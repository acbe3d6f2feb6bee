/**
 * /api/webhooks over real HTTP (SPEC §11): create, list, get, partial PATCH, DELETE, the
 * delivery log's query; every invalid input answered 400/404 with nothing changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ELIZA, createSession, startServer, type TestServer } from '../support/server.js';
import { createKey } from '../support/auth.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

const URL_A = 'http://127.0.0.1:9/a';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const post = (body: unknown, token?: string) => server.request('POST', '/api/webhooks', { body, ...(token ? { token } : {}) });

describe('happy paths', () => {
  test('create answers 201 with the webhook; defaults: every session, unsigned, enabled, no description', async () => {
    const res = await post({ url: URL_A, events: ['session.created', 'message.created'] });
    assert.equal(res.status, 201, res.text);
    const { id, createdAt, updatedAt, ...rest } = res.body;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match(createdAt, ISO);
    assert.equal(updatedAt, createdAt);
    assert.equal(createdAt, new Date(server.clock.now()).toISOString());
    assert.deepEqual(rest, {
      url: URL_A,
      events: ['session.created', 'message.created'],
      agentId: null,
      secretEnv: null,
      description: '',
      enabled: true,
    });
    assert.deepEqual((await server.request('GET', `/api/webhooks/${id}`)).body, res.body);
    assert.deepEqual((await server.request('GET', `/api/webhooks/${id.toUpperCase()}`)).body, res.body, 'ids compare case-insensitively');
  });

  test('every field given; list is oldest first; PATCH changes only what it names; DELETE', async () => {
    const before = (await server.request('GET', '/api/webhooks')).body.webhooks.length;
    server.clock.advance(1); // oldest first: later than the webhooks made before
    const full = await post({
      url: 'https://receiver.example/hooks?x=1',
      events: ['*'],
      agentId: ELIZA.toUpperCase(),
      secretEnv: 'AGENT_SECRET_HOOKS',
      description: 'CRM tickets 😀',
      enabled: false,
    });
    assert.equal(full.status, 201, full.text);
    assert.equal(full.body.agentId, ELIZA, 'stored in lower case');
    assert.deepEqual(full.body.events, ['*']);
    assert.equal(full.body.enabled, false);
    const list = (await server.request('GET', '/api/webhooks')).body.webhooks;
    assert.equal(list.length, before + 1);
    assert.deepEqual(list[list.length - 1], full.body);

    server.clock.advance(1000);
    const patched = await server.request('PATCH', `/api/webhooks/${full.body.id}`, { body: { enabled: true, agentId: null } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.body, { ...full.body, enabled: true, agentId: null, updatedAt: new Date(server.clock.now()).toISOString() });
    const unchanged = await server.request('PATCH', `/api/webhooks/${full.body.id}`, { body: {} });
    assert.equal(unchanged.status, 200);
    assert.deepEqual((await server.request('GET', `/api/webhooks/${full.body.id}`)).body, { ...unchanged.body });
    const again = await server.request('PATCH', `/api/webhooks/${full.body.id}`, {
      body: { secretEnv: null, description: '', events: ['session.ended'], url: URL_A },
    });
    assert.deepEqual(
      { ...again.body, updatedAt: undefined },
      { ...patched.body, secretEnv: null, description: '', events: ['session.ended'], url: URL_A, updatedAt: undefined },
    );

    const del = await server.request('DELETE', `/api/webhooks/${full.body.id}`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, { success: true });
    const gone = await server.request('GET', `/api/webhooks/${full.body.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'NOT_FOUND');
    assert.equal((await server.request('DELETE', `/api/webhooks/${full.body.id}`)).status, 404);
    assert.equal((await server.request('GET', '/api/webhooks')).body.webhooks.length, before);
  });

  test('the delivery log: queued events, newest first, filtered by status, limited', async () => {
    const hook = (await post({ url: URL_A, events: ['*'] })).body;
    const s = await createSession(server);
    server.clock.advance(1000);
    await server.request('POST', `/api/messaging/sessions/${s.sessionId}/heartbeat`);
    const log = await server.request('GET', `/api/webhooks/${hook.id}/deliveries`);
    assert.equal(log.status, 200, log.text);
    assert.deepEqual(log.body.deliveries, [
      {
        eventId: `${s.sessionId}:2`,
        type: 'session.renewed',
        sessionId: s.sessionId,
        status: 'pending',
        attempts: 0,
        lastStatus: null,
        lastError: null,
        nextAttemptAt: new Date(server.clock.now()).toISOString(),
        deliveredAt: null,
        createdAt: new Date(server.clock.now()).toISOString(),
      },
      {
        eventId: `${s.sessionId}:1`,
        type: 'session.created',
        sessionId: s.sessionId,
        status: 'pending',
        attempts: 0,
        lastStatus: null,
        lastError: null,
        nextAttemptAt: s.createdAt,
        deliveredAt: null,
        createdAt: s.createdAt,
      },
    ]);
    assert.equal((await server.request('GET', `/api/webhooks/${hook.id}/deliveries?limit=1`)).body.deliveries[0].type, 'session.renewed');
    assert.deepEqual((await server.request('GET', `/api/webhooks/${hook.id}/deliveries?status=delivered`)).body, { deliveries: [] });
    assert.equal((await server.request('GET', `/api/webhooks/${hook.id}/deliveries?status=pending&limit=100`)).body.deliveries.length, 2);
    await server.request('DELETE', `/api/webhooks/${hook.id}`);
  });
});

describe('errors: 400 or 404, and nothing stored or changed', () => {
  const invalid: Array<[string, unknown, string]> = [
    ['no url', { events: ['*'] }, 'url'],
    ['no events', { url: URL_A }, 'events'],
    ['empty events', { url: URL_A, events: [] }, 'events'],
    ['message.chunk is never delivered', { url: URL_A, events: ['message.chunk'] }, 'events'],
    ['an unknown event type', { url: URL_A, events: ['session.exploded'] }, 'events'],
    ['"*" beside other types', { url: URL_A, events: ['*', 'message.created'] }, 'events'],
    ['the same type twice', { url: URL_A, events: ['message.created', 'message.created'] }, 'events'],
    ['a url that is not http(s)', { url: 'ftp://127.0.0.1/x', events: ['*'] }, 'url'],
    ['a relative url', { url: '/hooks', events: ['*'] }, 'url'],
    ['secretEnv naming a variable other than AGENT_SECRET_…', { url: URL_A, events: ['*'], secretEnv: 'DATABASE_URL' }, 'secretEnv'],
    ['description over 200 characters', { url: URL_A, events: ['*'], description: 'x'.repeat(201) }, 'description'],
    ['agentId not a UUID', { url: URL_A, events: ['*'], agentId: 'eliza' }, 'agentId'],
    ['enabled not a boolean', { url: URL_A, events: ['*'], enabled: 'yes' }, 'enabled'],
    ['an unknown field', { url: URL_A, events: ['*'], retries: 3 }, 'retries'],
  ];
  for (const [name, body, field] of invalid) {
    test(`create: ${name}`, async () => {
      const before = (await server.request('GET', '/api/webhooks')).body.webhooks;
      const res = await post(body);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.success, false);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
      assert.match(`${res.body.error.details ?? ''} ${res.body.error.message}`, new RegExp(field));
      assert.deepEqual((await server.request('GET', '/api/webhooks')).body.webhooks, before);
    });
  }

  test('create: a description of exactly 200 characters is fine', async () => {
    const res = await post({ url: URL_A, events: ['*'], description: 'é'.repeat(200) });
    assert.equal(res.status, 201, res.text);
    await server.request('DELETE', `/api/webhooks/${res.body.id}`);
  });

  test('create: an agent that does not exist is 404 AGENT_NOT_FOUND', async () => {
    const before = (await server.request('GET', '/api/webhooks')).body.webhooks;
    const res = await post({ url: URL_A, events: ['*'], agentId: '99999999-9999-4999-8999-999999999999' });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'AGENT_NOT_FOUND');
    assert.deepEqual((await server.request('GET', '/api/webhooks')).body.webhooks, before);
  });

  test('PATCH: invalid fields are 400 and change nothing', async () => {
    const hook = (await post({ url: URL_A, events: ['message.created'] })).body;
    for (const body of [
      { events: [] },
      { events: ['message.chunk'] },
      { url: 'nope' },
      { enabled: null },
      { secretEnv: 'PATH' },
      { bogus: 1 },
    ]) {
      const res = await server.request('PATCH', `/api/webhooks/${hook.id}`, { body });
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    }
    const unknownAgent = await server.request('PATCH', `/api/webhooks/${hook.id}`, {
      body: { agentId: '99999999-9999-4999-8999-999999999999' },
    });
    assert.equal(unknownAgent.status, 404);
    assert.deepEqual((await server.request('GET', `/api/webhooks/${hook.id}`)).body, hook);
    await server.request('DELETE', `/api/webhooks/${hook.id}`);
  });

  test('unknown or malformed ids are 404 NOT_FOUND on every route', async () => {
    for (const id of ['99999999-9999-4999-8999-999999999999', 'not-a-uuid']) {
      for (const [method, path, body] of [
        ['GET', `/api/webhooks/${id}`],
        ['PATCH', `/api/webhooks/${id}`, { enabled: false }],
        ['DELETE', `/api/webhooks/${id}`],
        ['GET', `/api/webhooks/${id}/deliveries`],
      ] as Array<[string, string, unknown?]>) {
        const res = await server.request(method, path, body === undefined ? {} : { body });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(res.body.error.code, 'NOT_FOUND');
      }
    }
  });

  test('the delivery log: status and limit outside their values are 400', async () => {
    const hook = (await post({ url: URL_A, events: ['*'] })).body;
    for (const query of ['status=sent', 'limit=0', 'limit=101', 'limit=x']) {
      const res = await server.request('GET', `/api/webhooks/${hook.id}/deliveries?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    }
    await server.request('DELETE', `/api/webhooks/${hook.id}`);
  });

  test('security: webhooks:manage is needed; a session token, another scope or none are refused', async () => {
    const s = await createSession(server);
    const other = await createKey(server, ['sessions:read', 'agents:manage', 'keys:manage']);
    const allowed = await createKey(server, ['webhooks:manage']);
    assert.equal((await server.request('GET', '/api/webhooks', { token: null })).status, 401);
    assert.equal((await server.request('GET', '/api/webhooks', { token: s.sessionToken })).status, 403);
    assert.equal((await post({ url: URL_A, events: ['*'] }, s.sessionToken)).status, 403);
    assert.equal((await server.request('GET', '/api/webhooks', { token: other.key })).status, 403);
    const made = await post({ url: URL_A, events: ['*'] }, allowed.key);
    assert.equal(made.status, 201);
    assert.equal((await server.request('DELETE', `/api/webhooks/${made.body.id}`, { token: s.sessionToken })).status, 403);
    assert.equal((await server.request('GET', `/api/webhooks/${made.body.id}`)).status, 200, 'still there');
    assert.equal((await server.request('DELETE', `/api/webhooks/${made.body.id}`, { token: allowed.key })).status, 200);
  });
});
