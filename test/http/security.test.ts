/**
 * Authentication and authorization on every route (SPEC §6), table-driven: each route is tried
 * with no credentials, bad ones, a key lacking its scope, a key holding exactly its scope, the
 * token of the session it acts on and the token of another session; the exact status of each
 * is asserted. Then the edges: X-API-KEY, `?token=`, expired and revoked keys, tokens of
 * deleted, expired and purged sessions, and what a key may hand out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ANY_KEY, ROUTE_AUTH, SCOPES, type RouteAuth, type Scope } from '../../src/auth/scopes.js';
import { MINUTE } from '../support/clock.js';
import { ADMIN_KEY, ELIZA, USER, startServer, type TestServer } from '../support/server.js';
import { call, createKey, type CredentialPlace } from '../support/auth.js';

const S = '/api/messaging/sessions';
const USER_B = '22222222-2222-4222-8222-222222222222';

interface Target {
  sessionId: string;
  token: string;
  otherToken: string;
  agentId: string;
  keyId: string;
  webhookId: string;
}

interface RouteCase {
  /** The ROUTE_AUTH entry: `METHOD path`. */
  route: string;
  path: (t: Target) => string;
  body?: unknown;
  ok: number;
}

const CASES: RouteCase[] = [
  { route: `POST ${S}`, path: () => S, body: { agentId: ELIZA, userId: USER }, ok: 201 },
  { route: `GET ${S}`, path: () => S, ok: 200 },
  { route: `GET ${S}/health`, path: () => `${S}/health`, ok: 200 },
  { route: `GET ${S}/:sessionId`, path: (t) => `${S}/${t.sessionId}`, ok: 200 },
  { route: `DELETE ${S}/:sessionId`, path: (t) => `${S}/${t.sessionId}`, ok: 200 },
  { route: `POST ${S}/:sessionId/messages`, path: (t) => `${S}/${t.sessionId}/messages`, body: { content: 'hello' }, ok: 201 },
  { route: `GET ${S}/:sessionId/messages`, path: (t) => `${S}/${t.sessionId}/messages`, ok: 200 },
  { route: `POST ${S}/:sessionId/renew`, path: (t) => `${S}/${t.sessionId}/renew`, ok: 200 },
  { route: `POST ${S}/:sessionId/heartbeat`, path: (t) => `${S}/${t.sessionId}/heartbeat`, ok: 200 },
  { route: `PATCH ${S}/:sessionId/timeout`, path: (t) => `${S}/${t.sessionId}/timeout`, body: {}, ok: 200 },
  { route: `PATCH ${S}/:sessionId`, path: (t) => `${S}/${t.sessionId}`, body: { replyPolicy: 'reject' }, ok: 200 },
  { route: `POST ${S}/:sessionId/cancel`, path: (t) => `${S}/${t.sessionId}/cancel`, ok: 200 },
  { route: `GET ${S}/:sessionId/events`, path: (t) => `${S}/${t.sessionId}/events`, ok: 200 },
  { route: `GET ${S}/:sessionId/export`, path: (t) => `${S}/${t.sessionId}/export`, ok: 200 },
  // A session token searches its own session: naming another one is refused.
  { route: 'GET /api/messaging/search', path: (t) => `/api/messaging/search?q=hello&sessionId=${t.sessionId}`, ok: 200 },
  { route: 'POST /api/agents', path: () => '/api/agents', body: { name: 'Probe', provider: { type: 'eliza' } }, ok: 201 },
  { route: 'GET /api/agents', path: () => '/api/agents', ok: 200 },
  { route: 'GET /api/agents/:agentId', path: (t) => `/api/agents/${t.agentId}`, ok: 200 },
  { route: 'PATCH /api/agents/:agentId', path: (t) => `/api/agents/${t.agentId}`, body: { name: 'Renamed' }, ok: 200 },
  { route: 'DELETE /api/agents/:agentId', path: (t) => `/api/agents/${t.agentId}`, ok: 200 },
  // A key may hand out only scopes it holds, so the probe asks for keys:manage itself.
  { route: 'POST /api/keys', path: () => '/api/keys', body: { name: 'probe', scopes: ['keys:manage'] }, ok: 201 },
  { route: 'GET /api/keys', path: () => '/api/keys', ok: 200 },
  { route: 'DELETE /api/keys/:keyId', path: (t) => `/api/keys/${t.keyId}`, ok: 200 },
  { route: 'POST /api/webhooks', path: () => '/api/webhooks', body: { url: 'http://127.0.0.1:9/hook', events: ['*'] }, ok: 201 },
  { route: 'GET /api/webhooks', path: () => '/api/webhooks', ok: 200 },
  { route: 'GET /api/webhooks/:webhookId', path: (t) => `/api/webhooks/${t.webhookId}`, ok: 200 },
  { route: 'PATCH /api/webhooks/:webhookId', path: (t) => `/api/webhooks/${t.webhookId}`, body: { enabled: false }, ok: 200 },
  { route: 'DELETE /api/webhooks/:webhookId', path: (t) => `/api/webhooks/${t.webhookId}`, ok: 200 },
  { route: 'GET /api/webhooks/:webhookId/deliveries', path: (t) => `/api/webhooks/${t.webhookId}/deliveries`, ok: 200 },
  { route: 'GET /metrics', path: () => '/metrics', ok: 200 },
  { route: 'GET /healthz', path: () => '/healthz', ok: 200 },
  { route: 'GET /readyz', path: () => '/readyz', ok: 200 },
  { route: 'GET /openapi.json', path: () => '/openapi.json', ok: 200 },
  { route: 'GET /docs', path: () => '/docs', ok: 200 },
  { route: 'GET /', path: () => '/', ok: 200 },
];

type Variant =
  'none' | 'bad key' | 'bad token' | 'key lacking the scope' | 'key with the scope' | 'token of this session' | 'token of another session';
const VARIANTS: Variant[] = [
  'none',
  'bad key',
  'bad token',
  'key lacking the scope',
  'key with the scope',
  'token of this session',
  'token of another session',
];

/** The status SPEC §6 prescribes for a variant on a route with this rule. */
function expected(rule: RouteAuth, variant: Variant, ok: number): number {
  if (rule === 'public') return ok;
  switch (variant) {
    case 'none':
    case 'bad key':
    case 'bad token':
      return 401;
    case 'key lacking the scope':
      return rule.scope === ANY_KEY ? ok : 403;
    case 'key with the scope':
      return ok;
    case 'token of this session':
      return rule.sessionToken ? ok : 403;
    case 'token of another session':
      return 403;
  }
}

let server: TestServer;
/** Per scope: a key holding only it, and a key holding every scope but it (and not `*`). */
const only = new Map<Scope, string>();
const allBut = new Map<Scope, string>();

async function newSession(userId = USER): Promise<{ sessionId: string; token: string }> {
  const res = await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: ELIZA, userId } });
  assert.equal(res.status, 201, res.text);
  return { sessionId: res.body.sessionId, token: res.body.sessionToken };
}

async function newTarget(): Promise<Target> {
  const own = await newSession();
  const other = await newSession(USER_B);
  const agent = await call(server, 'POST', '/api/agents', { token: ADMIN_KEY, body: { name: 'Target', provider: { type: 'eliza' } } });
  assert.equal(agent.status, 201, agent.text);
  const key = await createKey(server, ['sessions:read']);
  const webhook = await call(server, 'POST', '/api/webhooks', {
    token: ADMIN_KEY,
    body: { url: 'http://127.0.0.1:9/hook', events: ['*'], enabled: false },
  });
  assert.equal(webhook.status, 201, webhook.text);
  return {
    sessionId: own.sessionId,
    token: own.token,
    otherToken: other.token,
    agentId: agent.body.id,
    keyId: key.id,
    webhookId: webhook.body.id,
  };
}

function credentialFor(rule: RouteAuth, variant: Variant, target: Target): string | undefined {
  const scope: Scope = rule === 'public' || rule.scope === ANY_KEY ? 'metrics:read' : rule.scope;
  switch (variant) {
    case 'none':
      return undefined;
    case 'bad key':
      return 'ask_ThisIsNotAKeyThisIsNotAKeyThisIsNotAKey00';
    case 'bad token':
      return 'ast_ThisIsNotATokenThisIsNotATokenThisIsNot00';
    case 'key lacking the scope':
      return allBut.get(scope);
    case 'key with the scope':
      return only.get(scope);
    case 'token of this session':
      return target.token;
    case 'token of another session':
      return target.otherToken;
  }
}

before(async () => {
  server = await startServer();
  for (const scope of SCOPES.filter((s) => s !== '*')) {
    only.set(scope, (await createKey(server, [scope])).key);
    allBut.set(
      scope,
      (
        await createKey(
          server,
          SCOPES.filter((s) => s !== scope && s !== '*'),
        )
      ).key,
    );
  }
});
after(() => server.close());

describe('every route, every kind of credential', () => {
  for (const routeCase of CASES) {
    test(routeCase.route, async () => {
      const [method, path] = routeCase.route.split(' ') as [string, string];
      assert.ok(server.app.server.hasRoute({ method: method, url: path }), `${routeCase.route} is not registered`);
      const rule = ROUTE_AUTH[routeCase.route];
      assert.ok(rule, `ROUTE_AUTH has no entry for ${routeCase.route}`);
      const seen: string[] = [];
      for (const variant of VARIANTS) {
        const target = await newTarget();
        const token = credentialFor(rule, variant, target);
        const res = await call(server, method, routeCase.path(target), { token, body: routeCase.body });
        const want = expected(rule, variant, routeCase.ok);
        seen.push(`${variant}: ${res.status}`);
        assert.equal(res.status, want, `${routeCase.route} with ${variant}: ${res.status} ${res.text.slice(0, 200)}\n${seen.join('\n')}`);
        if (want === 401) {
          assert.equal(res.body.error.code, 'UNAUTHORIZED');
          assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        }
        if (want === 403) assert.equal(res.body.error.code, 'FORBIDDEN');
        if (token !== undefined) assert.ok(!res.text.includes(token), 'an answer must never echo the credential');
      }
    });
  }

  test('every documented operation states its security; the table covers every route', async () => {
    const doc = (await call(server, 'GET', '/openapi.json')).body;
    for (const [path, operations] of Object.entries<Record<string, { security?: unknown; description: string }>>(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const route = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
        assert.ok(Array.isArray(operation.security), `${route} declares no auth rule`);
        assert.ok(ROUTE_AUTH[route] !== undefined, `${route} is missing from ROUTE_AUTH`);
        assert.ok(
          CASES.some((c) => c.route === route),
          `${route} is missing from this test's table`,
        );
        const rule = ROUTE_AUTH[route];
        if (rule === 'public') assert.deepEqual(operation.security, []);
        else assert.ok(operation.description.includes(rule.scope === ANY_KEY ? 'any valid API key' : `\`${rule.scope}\``), route);
      }
    }
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKeyHeader', 'bearerAuth', 'tokenQuery']);
  });
});

describe('where credentials may come from', () => {
  const places: CredentialPlace[] = ['bearer', 'x-api-key'];
  for (const place of places) {
    test(`an API key and a session token both work as ${place}`, async () => {
      const { sessionId, token } = await newSession();
      assert.equal((await call(server, 'GET', `${S}/${sessionId}`, { token: only.get('sessions:read')!, place })).status, 200);
      assert.equal((await call(server, 'GET', `${S}/${sessionId}`, { token, place })).status, 200);
      assert.equal((await call(server, 'GET', S, { token: ADMIN_KEY, place })).status, 200);
    });
  }

  test('?token= works on the event stream only', async () => {
    const { sessionId, token } = await newSession();
    const other = await newSession();
    assert.equal((await call(server, 'GET', `${S}/${sessionId}/events`, { token, place: 'query' })).status, 200);
    assert.equal(
      (await call(server, 'GET', `${S}/${sessionId}/events`, { token: only.get('sessions:read')!, place: 'query' })).status,
      200,
    );
    assert.equal((await call(server, 'GET', `${S}/${sessionId}/events`, { token: other.token, place: 'query' })).status, 403);
    assert.equal((await call(server, 'GET', `${S}/${sessionId}/events`, { token: 'ast_nope', place: 'query' })).status, 401);
    assert.equal((await call(server, 'GET', `${S}/${sessionId}`, { token, place: 'query' })).status, 401);
    assert.equal((await call(server, 'GET', `${S}/${sessionId}/messages`, { token, place: 'query' })).status, 401);
    assert.equal((await call(server, 'GET', S, { token: ADMIN_KEY, place: 'query' })).status, 401);
  });

  test('a header wins over ?token=, and a bad header is not rescued by a good query token', async () => {
    const { sessionId, token } = await newSession();
    const res = await call(server, 'GET', `${S}/${sessionId}/events?token=${token}`, { token: 'ask_wrong', place: 'bearer' });
    assert.equal(res.status, 401);
  });

  test('Authorization must use the Bearer scheme', async () => {
    for (const value of ['Basic dXNlcjpwYXNz', `Token ${ADMIN_KEY}`, 'Bearer', `Bearer ${ADMIN_KEY} extra`]) {
      const res = await call(server, 'GET', S, { headers: { authorization: value } });
      assert.equal(res.status, 401, value);
      assert.equal(res.body.error.code, 'UNAUTHORIZED');
    }
    assert.equal((await call(server, 'GET', S, { headers: { authorization: `bearer ${ADMIN_KEY}` } })).status, 200);
  });
});

describe('keys that stop working', () => {
  test('an expired key is 401 from the moment of its expiry', async () => {
    const expiresAt = new Date(server.clock.now() + 10 * MINUTE).toISOString();
    const { key } = await createKey(server, ['sessions:read'], { expiresAt });
    assert.equal((await call(server, 'GET', S, { token: key })).status, 200);
    server.clock.advance(10 * MINUTE - 1);
    assert.equal((await call(server, 'GET', S, { token: key })).status, 200);
    server.clock.advance(1);
    const res = await call(server, 'GET', S, { token: key });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'UNAUTHORIZED');
  });

  test('a revoked key is 401 at once', async () => {
    const { key, id } = await createKey(server, ['sessions:read']);
    assert.equal((await call(server, 'GET', S, { token: key })).status, 200);
    assert.equal((await call(server, 'DELETE', `/api/keys/${id}`, { token: ADMIN_KEY })).status, 200);
    assert.equal((await call(server, 'GET', S, { token: key })).status, 401);
    assert.equal((await call(server, 'GET', S, { token: key, place: 'x-api-key' })).status, 401);
  });
});

describe('session tokens', () => {
  test('create returns the token once; get and list never do', async () => {
    const { sessionId, token } = await newSession();
    assert.match(token, /^ast_[A-Za-z0-9_-]{43}$/);
    const got = await call(server, 'GET', `${S}/${sessionId}`, { token });
    assert.equal(got.body.sessionToken, undefined);
    assert.ok(!got.text.includes(token));
    const list = await call(server, 'GET', `${S}?status=all&limit=100`, { token: ADMIN_KEY });
    assert.ok(!list.text.includes('sessionToken'));
    assert.ok(!list.text.includes(token));
  });

  test('every token is different', async () => {
    const a = await newSession();
    const b = await newSession();
    assert.notEqual(a.token, b.token);
  });

  test('the token of a deleted session is 401, and so is deleting it again', async () => {
    const { sessionId, token } = await newSession();
    assert.equal((await call(server, 'DELETE', `${S}/${sessionId}`, { token })).status, 200);
    for (const [method, suffix] of [
      ['GET', ''],
      ['DELETE', ''],
      ['POST', '/heartbeat'],
      ['GET', '/messages'],
    ] as const) {
      const res = await call(server, method, `${S}/${sessionId}${suffix}`, { token });
      assert.equal(res.status, 401, `${method} ${suffix}`);
      assert.equal(res.body.error.code, 'UNAUTHORIZED');
    }
  });

  test('the token of an expired session still identifies it (410), until the session is purged (401)', async () => {
    const { sessionId, token } = await newSession();
    server.clock.advance(31 * MINUTE);
    const expired = await call(server, 'GET', `${S}/${sessionId}`, { token });
    assert.equal(expired.status, 410);
    assert.equal(expired.body.error.code, 'SESSION_EXPIRED');
    server.clock.advance(server.app.settings.retentionMs);
    // Past retention the session is gone even before the purge has run.
    assert.equal((await call(server, 'GET', `${S}/${sessionId}`, { token })).status, 401);
    await server.app.maintenance.runOnce();
    assert.equal((await call(server, 'GET', `${S}/${sessionId}`, { token })).status, 401);
  });

  test('a token is refused on a malformed session id; its own id in upper case is still its session', async () => {
    const { sessionId, token } = await newSession();
    assert.equal((await call(server, 'GET', `${S}/not-a-uuid`, { token })).status, 403);
    // SPEC §6: ids are compared case-insensitively.
    const upper = await call(server, 'GET', `${S}/${sessionId.toUpperCase()}`, { token });
    assert.equal(upper.status, 200);
    assert.equal(upper.body.sessionId, sessionId);
  });
});

describe('what a key may hand out', () => {
  test('a key with keys:manage cannot mint a key with more than it holds', async () => {
    const manager = (await createKey(server, ['keys:manage', 'sessions:read'])).key;
    const wider = await call(server, 'POST', '/api/keys', { token: manager, body: { name: 'x', scopes: ['*'] } });
    assert.equal(wider.status, 403);
    assert.equal(wider.body.error.code, 'FORBIDDEN');
    const other = await call(server, 'POST', '/api/keys', {
      token: manager,
      body: { name: 'x', scopes: ['sessions:read', 'sessions:write'] },
    });
    assert.equal(other.status, 403);
    const same = await call(server, 'POST', '/api/keys', { token: manager, body: { name: 'x', scopes: ['sessions:read'] } });
    assert.equal(same.status, 201);
  });

  test('a `*` key may do anything, including minting `*` keys', async () => {
    const star = (await createKey(server, ['*'])).key;
    assert.equal((await call(server, 'POST', '/api/keys', { token: star, body: { name: 'x', scopes: ['*'] } })).status, 201);
    assert.equal((await call(server, 'GET', `${S}/health`, { token: star })).status, 200);
  });
});

describe('AUTH_DISABLED', () => {
  let open: TestServer;
  before(async () => {
    open = await startServer({ AUTH_DISABLED: 'true', HOST: '127.0.0.1', SESSIONS_API_KEY: '' });
  });
  after(() => open.close());

  test('on loopback, every route answers without credentials, and no key is generated', async () => {
    assert.equal(open.app.generatedAdminKey, undefined);
    const created = await call(open, 'POST', S, { body: { agentId: ELIZA, userId: USER } });
    assert.equal(created.status, 201);
    assert.equal((await call(open, 'GET', `${S}/${created.body.sessionId}`)).status, 200);
    assert.equal((await call(open, 'PATCH', `${S}/${created.body.sessionId}/timeout`, { body: {} })).status, 200);
    assert.equal((await call(open, 'GET', '/api/keys')).status, 200);
    assert.equal((await call(open, 'GET', S, { token: 'anything' })).status, 200);
  });
});

describe('a route that declares no auth rule', () => {
  test('is refused to everyone: 401 without credentials, 403 even for a `*` key', async () => {
    const { createApp } = await import('../../src/app.js');
    const { parseSettings } = await import('../../src/settings.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'agent-sessions-undeclared-'));
    const app = await createApp(
      parseSettings({ DATABASE_URL: path.join(dir, 'db.sqlite'), PORT: '0', LOG_LEVEL: 'silent', SESSIONS_API_KEY: ADMIN_KEY }),
      {
        background: false,
      },
    );
    app.server.get('/undeclared', async () => ({ leaked: true }));
    try {
      const url = await app.listen();
      const probe = { url } as TestServer;
      assert.equal((await call(probe, 'GET', '/undeclared')).status, 401);
      const res = await call(probe, 'GET', '/undeclared', { token: ADMIN_KEY });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'FORBIDDEN');
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CORS', () => {
  const ORIGIN = 'https://app.example.com';
  const preflight = (target: TestServer, origin: string) =>
    call(target, 'OPTIONS', S, {
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  test('closed by default: no CORS headers, no preflight', async () => {
    const res = await call(server, 'GET', S, { token: ADMIN_KEY, headers: { origin: ORIGIN } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const pre = await preflight(server, ORIGIN);
    assert.notEqual(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
  });

  describe('with CORS_ORIGINS', () => {
    let cors: TestServer;
    before(async () => {
      cors = await startServer({ CORS_ORIGINS: `${ORIGIN},https://admin.example.com` });
    });
    after(() => cors.close());

    test('a listed origin may call, with credentials in headers, and read the limit headers', async () => {
      const pre = await preflight(cors, ORIGIN);
      assert.equal(pre.status, 204, 'a preflight needs no credentials');
      assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-api-key/);
      assert.match(pre.headers.get('access-control-allow-methods') ?? '', /PATCH/);
      assert.equal(pre.headers.get('access-control-allow-credentials'), null);

      const res = await call(cors, 'GET', S, { token: ADMIN_KEY, headers: { origin: ORIGIN } });
      assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
      assert.match(res.headers.get('access-control-expose-headers') ?? '', /ratelimit-remaining/);
      // Errors too, so that the browser can read why.
      const refused = await call(cors, 'GET', S, { headers: { origin: ORIGIN } });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('access-control-allow-origin'), ORIGIN);
    });

    test('an origin not listed gets no CORS headers', async () => {
      const pre = await preflight(cors, 'https://evil.example.net');
      assert.equal(pre.headers.get('access-control-allow-origin'), null);
      const res = await call(cors, 'GET', S, { token: ADMIN_KEY, headers: { origin: 'https://evil.example.net' } });
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    });

    test('unknown paths still answer 404 and wrong methods 405', async () => {
      assert.equal((await call(cors, 'GET', '/nope', { token: ADMIN_KEY })).status, 404);
      assert.equal((await call(cors, 'PUT', S, { token: ADMIN_KEY })).status, 405);
    });
  });
});
