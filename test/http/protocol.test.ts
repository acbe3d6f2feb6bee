/**
 * The HTTP protocol around the API: the error envelope on every kind of failure (unknown
 * routes, wrong methods, bad bodies, a broken store), health and liveness, the OpenAPI document
 * and Swagger UI, and the agents resource (CRUD, the built-in ELIZA, agents loaded from files).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../src/app.js';
import { parseSettings } from '../../src/settings.js';
import { ManualClock, MINUTE } from '../support/clock.js';
import {
  ADMIN_KEY,
  createSession,
  ELIZA,
  startServer,
  type CreatedSession,
  type TestResponse,
  type TestServer,
} from '../support/server.js';

const BASE = '/api/messaging/sessions';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JSON_TYPE = { 'content-type': 'application/json' };
const iso = (ms: number) => new Date(ms).toISOString();

/** The SPEC's error envelope, exactly: `{success:false, error:{code, message, details?, ...}}`. */
function assertError(res: TestResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, res.text);
  assert.deepEqual(Object.keys(res.body ?? {}).sort(), ['error', 'success'], res.text);
  assert.equal(res.body.success, false);
  assert.equal(res.body.error.code, code, res.text);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(res.body.error.message.length > 0);
  if ('details' in res.body.error) assert.equal(typeof res.body.error.details, 'string');
  assertNoStack(res);
}

/** No stack trace, source path or framework internals ever reach a client. */
function assertNoStack(res: TestResponse): void {
  assert.doesNotMatch(res.text, /\bat [^\s]+ \(|\n\s*at |\.ts:\d+|node_modules|FST_ERR/, res.text);
}

let server: TestServer;
let session: CreatedSession;
before(async () => {
  server = await startServer();
  session = await createSession(server);
});
after(() => server.close());

describe('unknown routes and wrong methods', () => {
  test('an unknown path: 404 NOT_FOUND, also below an existing session', async () => {
    const id = session.sessionId;
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/api'],
      ['POST', '/api/messaging'],
      ['GET', `${BASE}/${id}/nope`],
      ['POST', `${BASE}/${id}/nope`],
      ['GET', `${BASE}/${id}/messages/extra`],
      ['DELETE', `/api/agents/${ELIZA}/sessions`],
    ]) {
      const res = await server.request(method!, path!);
      assertError(res, 404, 'NOT_FOUND');
    }
  });

  test('a known path with a wrong method: 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const id = session.sessionId;
    for (const [method, path, allow] of [
      ['PUT', BASE, 'GET, HEAD, POST'],
      ['DELETE', BASE, 'GET, HEAD, POST'],
      ['PUT', `${BASE}/${id}`, 'DELETE, GET, HEAD, PATCH'],
      ['POST', `${BASE}/${id}`, 'DELETE, GET, HEAD, PATCH'],
      ['GET', `${BASE}/${id}/renew`, 'POST'],
      ['GET', `${BASE}/${id}/heartbeat`, 'POST'],
      ['POST', `${BASE}/${id}/timeout`, 'PATCH'],
      ['DELETE', `${BASE}/${id}/messages`, 'GET, HEAD, POST'],
      ['POST', `${BASE}/health`, 'GET, HEAD'],
      ['PUT', '/api/agents', 'GET, HEAD, POST'],
      ['PUT', `/api/agents/${ELIZA}`, 'DELETE, GET, HEAD, PATCH'],
      ['POST', '/healthz', 'GET, HEAD'],
    ]) {
      const res = await server.request(method!, path!);
      assertError(res, 405, 'METHOD_NOT_ALLOWED');
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
    }
    // A trailing slash names the same path.
    const slash = await server.request('PUT', `${BASE}/`);
    assertError(slash, 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('request bodies', () => {
  const bodyRoutes = (): Array<[string, string]> => [
    ['POST', BASE],
    ['POST', `${BASE}/${session.sessionId}/messages`],
    ['PATCH', `${BASE}/${session.sessionId}/timeout`],
    ['POST', '/api/agents'],
    ['PATCH', `/api/agents/${ELIZA}`],
  ];

  test('malformed JSON: 400 INVALID_JSON', async () => {
    for (const [method, path] of bodyRoutes()) {
      for (const raw of ['{"agentId":', '{content: "hi"}', "{'a':1}", '{"a":1}}', 'undefined']) {
        assertError(await server.request(method, path, { raw, headers: JSON_TYPE }), 400, 'INVALID_JSON');
      }
    }
  });

  test('a JSON body that is not an object: 400 VALIDATION_ERROR', async () => {
    for (const [method, path] of bodyRoutes()) {
      for (const raw of ['[]', '[{"content":"hi"}]', '"text"', '42', 'true', 'null']) {
        assertError(await server.request(method, path, { raw, headers: JSON_TYPE }), 400, 'VALIDATION_ERROR');
      }
    }
  });

  test('a body nested deeper than 64 levels, even in a field no route reads: 400, nothing stored', async () => {
    const own = await createSession(server);
    const path = `${BASE}/${own.sessionId}/messages`;
    const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    // 63 arrays inside the outer object: 64 levels, accepted (the unknown field is ignored).
    const ok = await server.request('POST', path, { raw: `{"content":"fine","transport":"http","zzz":${nested(63)}}`, headers: JSON_TYPE });
    assert.equal(ok.status, 201, ok.text);
    for (const levels of [64, 30_000]) {
      const res = await server.request('POST', path, { raw: `{"content":"deep","zzz":${nested(levels)}}`, headers: JSON_TYPE });
      assertError(res, 400, 'VALIDATION_ERROR');
      assert.match(res.body.error.details, /deeper than 64 levels/);
    }
    const stored = await server.app.store.recentMessages(own.sessionId, 100);
    assert.deepEqual(
      stored.map((m) => [m.isAgent, m.isAgent ? 'reply' : m.content]),
      [
        [false, 'fine'],
        [true, 'reply'],
      ],
    );
  });

  test('renew, heartbeat and DELETE take no body, and refuse one that is not an object', async () => {
    const own = await createSession(server);
    const path = `${BASE}/${own.sessionId}`;
    const stored = () => server.app.store.getSession(own.sessionId);
    const before = await stored();
    server.clock.advance(MINUTE);
    for (const [method, suffix] of [
      ['POST', '/renew'],
      ['POST', '/heartbeat'],
      ['DELETE', ''],
    ] as const) {
      for (const raw of ['[]', '"x"', '42', 'null']) {
        assertError(await server.request(method, path + suffix, { raw, headers: JSON_TYPE }), 400, 'VALIDATION_ERROR');
      }
    }
    assert.deepEqual(await stored(), before, 'nothing renewed, nothing deleted');
    // An empty body and an (ignored) object body are fine.
    assert.equal((await server.request('POST', `${path}/heartbeat`, { raw: '', headers: JSON_TYPE })).status, 200);
    assert.equal((await server.request('POST', `${path}/renew`, { raw: '{}', headers: JSON_TYPE })).status, 200);
    assert.equal((await server.request('DELETE', path, { raw: '{}', headers: JSON_TYPE })).status, 200);
    assert.equal(await stored(), undefined);
  });

  test('a non-JSON content type: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const [method, path] of bodyRoutes()) {
      // fetch labels a bare string body text/plain.
      assertError(await server.request(method, path, { raw: '{"content":"hi"}' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        assertError(
          await server.request(method, path, { raw: 'content=hi', headers: { 'content-type': type } }),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        );
      }
    }
  });

  test('65,536 bytes are accepted; 65,537 bytes: 413 PAYLOAD_TOO_LARGE', async () => {
    const json = JSON.stringify({ agentId: ELIZA, userId: session.userId });
    const exact = json.slice(0, -1) + ' '.repeat(65_536 - json.length) + '}';
    assert.equal(Buffer.byteLength(exact), 65_536);
    const ok = await server.request('POST', BASE, { raw: exact, headers: JSON_TYPE });
    assert.equal(ok.status, 201, ok.text);

    const over = json.slice(0, -1) + ' '.repeat(65_537 - json.length) + '}';
    assert.equal(Buffer.byteLength(over), 65_537);
    assertError(await server.request('POST', BASE, { raw: over, headers: JSON_TYPE }), 413, 'PAYLOAD_TOO_LARGE');
    // Multi-byte content counts in bytes: 21,846 × 3 bytes is over the limit.
    const big = { content: '€'.repeat(21_846) };
    const before = (await server.app.store.recentMessages(session.sessionId, 100)).length;
    assertError(await server.request('POST', `${BASE}/${session.sessionId}/messages`, { body: big }), 413, 'PAYLOAD_TOO_LARGE');
    assert.equal((await server.app.store.recentMessages(session.sessionId, 100)).length, before);
  });

  test('renew, heartbeat and DELETE take an empty body, with or without Content-Type: application/json', async () => {
    for (const headers of [JSON_TYPE, undefined]) {
      const s = await createSession(server);
      const renew = await server.request('POST', `${BASE}/${s.sessionId}/renew`, { headers });
      assert.equal(renew.status, 200, renew.text);
      assert.equal(renew.body.sessionId, s.sessionId);
      const beat = await server.request('POST', `${BASE}/${s.sessionId}/heartbeat`, { headers });
      assert.equal(beat.status, 200, beat.text);
      assert.equal(beat.body.sessionId, s.sessionId);
      const del = await server.request('DELETE', `${BASE}/${s.sessionId}`, { headers });
      assert.equal(del.status, 200, del.text);
      assert.deepEqual(del.body, { success: true, message: `Session ${s.sessionId} deleted successfully` });
    }
  });
});

describe('no stack traces', () => {
  test('a failure inside the server is a plain 500 INTERNAL_ERROR', async () => {
    const broken = await startServer();
    try {
      const s = await createSession(broken);
      await broken.app.store.close();
      for (const [method, path, body] of [
        ['GET', `${BASE}/${s.sessionId}`],
        ['POST', BASE, { agentId: ELIZA, userId: s.userId }],
        ['POST', `${BASE}/${s.sessionId}/messages`, { content: 'hello' }],
        ['GET', '/api/agents'],
      ] as Array<[string, string, unknown?]>) {
        const res = await broken.request(method, path, { body });
        assertError(res, 500, 'INTERNAL_ERROR');
        assert.deepEqual(res.body, { success: false, error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } });
      }
    } finally {
      await broken.close().catch(() => {});
    }
  });
});

describe('health', () => {
  test('/healthz: 200 {status:"ok"}, without credentials', async () => {
    for (const token of [undefined, null]) {
      const res = await server.request('GET', '/healthz', { token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { status: 'ok' });
    }
  });

  test('/api/messaging/sessions/health: exact counts as time passes', async () => {
    const fresh = await startServer();
    try {
      const started = Date.now();
      const health = async () => {
        const res = await fresh.request('GET', `${BASE}/health`);
        assert.equal(res.status, 200, res.text);
        const { uptime, ...rest } = res.body;
        assert.ok(Number.isInteger(uptime) && uptime >= 0 && uptime <= Math.ceil((Date.now() - started) / 1000) + 1, `uptime ${uptime}`);
        return rest;
      };
      const t0 = fresh.clock.now();
      assert.deepEqual(await health(), { status: 'healthy', activeSessions: 0, expiringSoon: 0, invalidSessions: 0, timestamp: iso(t0) });

      await createSession(fresh); // 30 min, warning at 5
      await createSession(fresh, { timeoutConfig: { timeoutMinutes: 10, warningThresholdMinutes: 10 } }); // near at once
      await createSession(fresh, { timeoutConfig: { timeoutMinutes: 5, warningThresholdMinutes: 1 } });
      assert.deepEqual(await health(), { status: 'healthy', activeSessions: 3, expiringSoon: 1, invalidSessions: 0, timestamp: iso(t0) });

      // The third expires; until the scheduler has processed its expiry it is "invalid".
      fresh.clock.advance(5 * MINUTE);
      assert.deepEqual(await health(), {
        status: 'healthy',
        activeSessions: 2,
        expiringSoon: 1,
        invalidSessions: 1,
        timestamp: iso(t0 + 5 * MINUTE),
      });
      await fresh.app.scheduler.tick();
      assert.deepEqual(await health(), {
        status: 'healthy',
        activeSessions: 2,
        expiringSoon: 1,
        invalidSessions: 0,
        timestamp: iso(t0 + 5 * MINUTE),
      });

      fresh.clock.advance(20 * MINUTE); // the first is inside its warning window, the second expired
      assert.deepEqual(await health(), {
        status: 'healthy',
        activeSessions: 1,
        expiringSoon: 1,
        invalidSessions: 1,
        timestamp: iso(t0 + 25 * MINUTE),
      });
    } finally {
      await fresh.close();
    }
  });

  test('503 status "unhealthy" when the store is unreachable', async () => {
    const broken = await startServer();
    try {
      const t0 = broken.clock.now();
      await broken.app.store.close();
      const res = await broken.request('GET', `${BASE}/health`);
      assert.equal(res.status, 503, res.text);
      const { uptime, ...rest } = res.body;
      assert.ok(Number.isInteger(uptime) && uptime >= 0);
      assert.deepEqual(rest, {
        status: 'unhealthy',
        activeSessions: 0,
        expiringSoon: 0,
        invalidSessions: 0,
        timestamp: iso(t0),
        success: false,
        error: { code: 'SERVICE_UNAVAILABLE', message: rest.error.message },
      });
      assertNoStack(res);
      // Liveness does not depend on the store.
      assert.deepEqual((await broken.request('GET', '/healthz')).body, { status: 'ok' });
    } finally {
      await broken.close().catch(() => {});
    }
  });
});

describe('OpenAPI and Swagger UI', () => {
  /** Every route of SPEC §4: each must be served and documented. */
  const SPEC_ROUTES: Array<[string, string]> = [
    ['POST', '/api/messaging/sessions'],
    ['GET', '/api/messaging/sessions'],
    ['GET', '/api/messaging/sessions/health'],
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/api/messaging/sessions/:sessionId'],
    ['PATCH', '/api/messaging/sessions/:sessionId'],
    ['DELETE', '/api/messaging/sessions/:sessionId'],
    ['POST', '/api/messaging/sessions/:sessionId/messages'],
    ['GET', '/api/messaging/sessions/:sessionId/messages'],
    ['POST', '/api/messaging/sessions/:sessionId/renew'],
    ['PATCH', '/api/messaging/sessions/:sessionId/timeout'],
    ['POST', '/api/messaging/sessions/:sessionId/heartbeat'],
    ['POST', '/api/messaging/sessions/:sessionId/cancel'],
    ['GET', '/api/messaging/sessions/:sessionId/events'],
    ['GET', '/api/messaging/sessions/:sessionId/export'],
    ['GET', '/api/messaging/search'],
    ['POST', '/api/agents'],
    ['GET', '/api/agents'],
    ['GET', '/api/agents/:agentId'],
    ['PATCH', '/api/agents/:agentId'],
    ['DELETE', '/api/agents/:agentId'],
    ['POST', '/api/keys'],
    ['GET', '/api/keys'],
    ['DELETE', '/api/keys/:keyId'],
    ['GET', '/metrics'],
    ['POST', '/api/webhooks'],
    ['GET', '/api/webhooks'],
    ['GET', '/api/webhooks/:webhookId'],
    ['PATCH', '/api/webhooks/:webhookId'],
    ['DELETE', '/api/webhooks/:webhookId'],
    ['GET', '/api/webhooks/:webhookId/deliveries'],
  ];

  test('/openapi.json is OpenAPI 3.1 and documents every route', async () => {
    const res = await server.request('GET', '/openapi.json', { token: null });
    assert.equal(res.status, 200, res.text);
    const doc = res.body;
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.title, 'agent-sessions');
    assert.equal(typeof doc.info.version, 'string');
    for (const [method, url] of SPEC_ROUTES) {
      assert.ok(server.app.server.hasRoute({ method: method, url }), `${method} ${url} is not served`);
      const path = url.replace(/:(\w+)/g, '{$1}');
      const operation = doc.paths?.[path]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${path} is missing from the OpenAPI document`);
      assert.ok(Object.keys(operation.responses ?? {}).length > 0, `${method} ${path} documents no response`);
    }
    // The create route documents its success and its errors.
    const create = doc.paths['/api/messaging/sessions'].post;
    for (const status of ['201', '400', '404', '413', '415', '500']) assert.ok(create.responses[status], `create: ${status}`);
    assert.ok(doc.paths['/api/messaging/sessions/{sessionId}/renew'].post.responses['422']);
    assert.ok(doc.paths['/api/messaging/sessions/{sessionId}'].get.responses['410']);
    // Webhooks: the event types a webhook may name (never message.chunk), the scope in the key enum.
    const hookBody = doc.paths['/api/webhooks'].post.requestBody.content['application/json'].schema;
    const types = hookBody.properties.events.items.anyOf.flatMap((t: { enum?: string[]; const?: string }) => t.enum ?? [t.const]);
    assert.ok(types.includes('*') && types.includes('session.created') && types.includes('message.cancelled'));
    assert.ok(!types.includes('message.chunk'));
    assert.ok(JSON.stringify(doc.paths['/api/keys'].post).includes('webhooks:manage'));
  });

  test('/docs serves Swagger UI as HTML, without credentials', async () => {
    const res = await server.request('GET', '/docs', { token: null });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.text, /swagger/i);
  });

  test('a file Swagger UI does not have is 404 NOT_FOUND, not a wrong method', async () => {
    assertError(await server.request('GET', '/docs/static/nope.js', { token: null }), 404, 'NOT_FOUND');
    const asset = await server.request('GET', '/docs/static/swagger-ui.css', { token: null });
    assert.equal(asset.status, 200);
  });
});

describe('agents', () => {
  let agentsServer: TestServer;
  before(async () => {
    agentsServer = await startServer();
  });
  after(() => agentsServer.close());
  const req = (method: string, path: string, body?: unknown) => agentsServer.request(method, path, { body });

  test('a fresh database has the built-in ELIZA agent with its fixed id', async () => {
    const t0 = agentsServer.clock.now();
    const list = await req('GET', '/api/agents');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.agents.length, 1);
    const eliza = list.body.agents[0];
    assert.equal(typeof eliza.system, 'string');
    assert.deepEqual(eliza, {
      id: ELIZA,
      name: 'Eliza',
      system: eliza.system,
      provider: { type: 'eliza' },
      sessionDefaults: {},
      metadata: {},
      createdAt: iso(t0),
      updatedAt: iso(t0),
    });
    const one = await req('GET', `/api/agents/${ELIZA}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, eliza);
  });

  test('create: 201 with defaults filled in; a given id is used; a duplicate id is 409', async () => {
    const t0 = agentsServer.clock.now();
    const minimal = await req('POST', '/api/agents', { name: 'Ada', provider: { type: 'eliza' } });
    assert.equal(minimal.status, 201, minimal.text);
    assert.match(minimal.body.id, UUID);
    assert.deepEqual(minimal.body, {
      id: minimal.body.id,
      name: 'Ada',
      system: '',
      provider: { type: 'eliza' },
      sessionDefaults: {},
      metadata: {},
      createdAt: iso(t0),
      updatedAt: iso(t0),
    });

    const full = {
      id: '44444444-4444-4444-8444-444444444444',
      name: 'Hooked',
      system: 'You are terse.',
      provider: { type: 'webhook', url: 'https://agents.example.com/reply', secretEnv: 'AGENT_SECRET_HOOK', timeoutMs: 5000 },
      sessionDefaults: { timeoutMinutes: 60, autoRenew: false },
      metadata: { team: 'support', tier: 2 },
    };
    const created = await req('POST', '/api/agents', full);
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body, { ...full, createdAt: iso(t0), updatedAt: iso(t0) });
    assert.deepEqual((await req('GET', `/api/agents/${full.id}`)).body, created.body);

    const openai = await req('POST', '/api/agents', {
      name: 'GPT',
      provider: {
        type: 'openai',
        baseUrl: 'https://api.example.com/v1',
        model: 'some-model',
        apiKeyEnv: 'AGENT_SECRET_EXAMPLE',
        temperature: 0.5,
        maxTokens: 256,
      },
    });
    assert.equal(openai.status, 201, openai.text);
    assert.deepEqual(openai.body.provider, {
      type: 'openai',
      baseUrl: 'https://api.example.com/v1',
      model: 'some-model',
      apiKeyEnv: 'AGENT_SECRET_EXAMPLE',
      temperature: 0.5,
      maxTokens: 256,
    });

    assertError(await req('POST', '/api/agents', { ...full, name: 'Again' }), 409, 'CONFLICT');
    assert.equal((await req('GET', `/api/agents/${full.id}`)).body.name, 'Hooked');

    const list = await req('GET', '/api/agents');
    assert.deepEqual(list.body.agents.map((a: { id: string }) => a.id).sort(), [ELIZA, minimal.body.id, full.id, openai.body.id].sort());
  });

  test('create: validation', async () => {
    const before = (await req('GET', '/api/agents')).body.agents.length;
    const check = async (body: unknown, ...fields: string[]) => {
      const res = await req('POST', '/api/agents', body);
      assertError(res, 400, 'VALIDATION_ERROR');
      for (const field of fields) assert.ok(res.body.error.details.includes(field), `${field} in ${res.body.error.details}`);
    };
    await check({}, 'name', 'provider');
    await check({ name: '', provider: { type: 'eliza' } }, 'name');
    await check({ name: 'x'.repeat(101), provider: { type: 'eliza' } }, 'name');
    await check({ name: 'ok', system: 's'.repeat(20_001), provider: { type: 'eliza' } }, 'system');
    await check({ name: 'ok', provider: { type: 'skynet' } }, 'provider');
    await check({ name: 'ok', provider: { type: 'webhook', url: 'ftp://example.com' } }, 'provider');
    await check({ name: 'ok', provider: { type: 'openai', baseUrl: 'https://example.com' } }, 'provider');
    await check({ name: 'ok', provider: { type: 'eliza' }, sessionDefaults: { timeoutMinutes: 4 } }, 'sessionDefaults.timeoutMinutes');
    await check({ name: 'ok', provider: { type: 'eliza' }, sessionDefaults: { speed: 1 } }, 'sessionDefaults.speed');
    await check({ name: 'ok', provider: { type: 'eliza' }, owner: 'me' }, 'owner');
    await check({ name: 'ok', provider: { type: 'eliza' }, id: 'not-a-uuid' }, 'id');
    await check({ name: 'ok', provider: { type: 'eliza' }, metadata: { a: { b: { c: { d: { e: { f: 1 } } } } } } }, 'metadata');
    assert.equal((await req('GET', '/api/agents')).body.agents.length, before);
  });

  test('get: unknown or malformed id is 404 AGENT_NOT_FOUND', async () => {
    for (const id of ['55555555-5555-4555-8555-555555555555', 'eliza', '1']) {
      for (const [method, body] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as Array<[string, unknown?]>) {
        assertError(await req(method, `/api/agents/${id}`, body), 404, 'AGENT_NOT_FOUND');
      }
    }
  });

  test('PATCH changes only what it is given', async () => {
    const created = (
      await req('POST', '/api/agents', { name: 'Before', system: 'keep me', provider: { type: 'eliza' }, metadata: { a: 1 } })
    ).body;
    const t1 = agentsServer.clock.advance(MINUTE);
    const res = await req('PATCH', `/api/agents/${created.id}`, { name: 'After', sessionDefaults: { warningThresholdMinutes: 2 } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { ...created, name: 'After', sessionDefaults: { warningThresholdMinutes: 2 }, updatedAt: iso(t1) });
    assert.deepEqual((await req('GET', `/api/agents/${created.id}`)).body, res.body);
    const bad = await req('PATCH', `/api/agents/${created.id}`, { name: '' });
    assertError(bad, 400, 'VALIDATION_ERROR');
    assertError(await req('PATCH', `/api/agents/${created.id}`, { id: ELIZA }), 400, 'VALIDATION_ERROR');
    assert.deepEqual((await req('GET', `/api/agents/${created.id}`)).body, res.body);
  });

  test('DELETE: 409 CONFLICT while it has active sessions; ?force=true ends them', async () => {
    const agent = (await req('POST', '/api/agents', { name: 'Busy', provider: { type: 'eliza' } })).body;
    const s = await createSession(agentsServer, { agentId: agent.id });
    const sent = await agentsServer.request('POST', `${BASE}/${s.sessionId}/messages`, { body: { content: 'hi', transport: 'http' } });
    assert.equal(sent.status, 201, sent.text);

    const refused = await req('DELETE', `/api/agents/${agent.id}`);
    assertError(refused, 409, 'CONFLICT');
    assertError(await req('DELETE', `/api/agents/${agent.id}?force=false`), 409, 'CONFLICT');
    assert.equal((await req('GET', `/api/agents/${agent.id}`)).status, 200);
    assert.equal((await req('GET', `${BASE}/${s.sessionId}`)).status, 200);

    const forced = await req('DELETE', `/api/agents/${agent.id}?force=true`);
    assert.equal(forced.status, 200, forced.text);
    assert.deepEqual(forced.body, { success: true, message: `Agent ${agent.id} deleted successfully` });
    assertError(await req('GET', `/api/agents/${agent.id}`), 404, 'AGENT_NOT_FOUND');
    assertError(await req('GET', `${BASE}/${s.sessionId}`), 404, 'SESSION_NOT_FOUND');
    assert.equal(await agentsServer.app.store.getSession(s.sessionId), undefined);
    assert.deepEqual(await agentsServer.app.store.recentMessages(s.sessionId, 10), []);
    assertError(await req('POST', BASE, { agentId: agent.id, userId: s.userId }), 404, 'AGENT_NOT_FOUND');
  });

  test('DELETE without active sessions: 200 at once', async () => {
    const agent = (await req('POST', '/api/agents', { name: 'Idle', provider: { type: 'eliza' } })).body;
    const res = await req('DELETE', `/api/agents/${agent.id}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { success: true, message: `Agent ${agent.id} deleted successfully` });
    assertError(await req('DELETE', `/api/agents/${agent.id}`), 404, 'AGENT_NOT_FOUND');
  });
});

describe('agents from AGENTS_DIR', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-files-'));
    writeFileSync(
      join(dir, 'support.json'),
      JSON.stringify({
        id: '66666666-6666-4666-8666-666666666666',
        name: 'Support',
        system: 'Be kind.',
        provider: { type: 'eliza' },
        sessionDefaults: { timeoutMinutes: 45 },
      }),
    );
    writeFileSync(join(dir, 'noid.json'), JSON.stringify({ name: 'No Id', provider: { type: 'eliza' } }));
    writeFileSync(join(dir, 'README.txt'), 'not an agent');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every *.json file becomes an agent; a restart on the same database does not duplicate them', async () => {
    const dbDir = mkdtempSync(join(tmpdir(), 'agent-files-db-'));
    const settings = parseSettings({
      DATABASE_URL: join(dbDir, 'sessions.db'),
      PORT: '0',
      LOG_LEVEL: 'silent',
      SESSIONS_API_KEY: ADMIN_KEY,
      AGENTS_DIR: dir,
    });
    try {
      const first = await createApp(settings, { clock: new ManualClock(), background: false });
      const agents = await first.agents.list();
      await first.close();
      assert.deepEqual(agents.map((a) => a.name).sort(), ['Eliza', 'No Id', 'Support']);
      const support = agents.find((a) => a.name === 'Support')!;
      assert.equal(support.id, '66666666-6666-4666-8666-666666666666');
      assert.deepEqual(support.sessionDefaults, { timeoutMinutes: 45 });
      assert.equal(support.system, 'Be kind.');
      assert.match(agents.find((a) => a.name === 'No Id')!.id, UUID);

      const second = await createApp(settings, { clock: new ManualClock(), background: false });
      const again = await second.agents.list();
      await second.close();
      assert.deepEqual(again.map((a) => a.id).sort(), agents.map((a) => a.id).sort());
    } finally {
      rmSync(dbDir, { recursive: true, force: true });
    }
  });

  test('over HTTP: listed, and their sessionDefaults apply', async () => {
    const loaded = await startServer({ AGENTS_DIR: dir });
    try {
      const list = await loaded.request('GET', '/api/agents');
      assert.deepEqual(list.body.agents.map((a: { name: string }) => a.name).sort(), ['Eliza', 'No Id', 'Support']);
      const s = await createSession(loaded, { agentId: '66666666-6666-4666-8666-666666666666' });
      assert.equal(s.timeoutConfig.timeoutMinutes, 45);
    } finally {
      await loaded.close();
    }
  });

  test('an invalid file stops start-up with a message naming it', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'agent-files-bad-'));
    writeFileSync(
      join(bad, 'broken.json'),
      JSON.stringify({ name: 'Broken', provider: { type: 'eliza' }, sessionDefaults: { timeoutMinutes: 2 } }),
    );
    const dbDir = mkdtempSync(join(tmpdir(), 'agent-files-db-'));
    try {
      const settings = parseSettings({
        DATABASE_URL: join(dbDir, 'sessions.db'),
        PORT: '0',
        LOG_LEVEL: 'silent',
        SESSIONS_API_KEY: ADMIN_KEY,
        AGENTS_DIR: bad,
      });
      await assert.rejects(createApp(settings, { clock: new ManualClock(), background: false }), (error: Error) => {
        assert.match(error.message, /broken\.json/);
        assert.match(error.message, /timeoutMinutes/);
        return true;
      });
    } finally {
      rmSync(bad, { recursive: true, force: true });
      rmSync(dbDir, { recursive: true, force: true });
    }
  });
});
