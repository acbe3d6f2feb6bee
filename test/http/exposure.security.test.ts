/**
 * What a credential may see and where the server's pages may be shown: the agents view of a key
 * without `agents:manage` (SPEC §6), ids in any case naming the same thing, and the headers of
 * /docs (Swagger UI, on the web app's origin) checked in a real Chromium.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BROWSER_SKIP, launchBrowser, openPage } from '../support/browser.js';
import { call, createKey } from '../support/auth.js';
import { ADMIN_KEY, ELIZA, createSession, startServer, type TestServer } from '../support/server.js';
import type { MessageView } from '../../src/domain/message.js';
import type { SessionInfo } from '../../src/domain/session.js';
import type { AgentJson } from '../agents/helpers.js';

const S = '/api/messaging/sessions';
const SUMMARY_KEYS = ['createdAt', 'id', 'metadata', 'name', 'provider', 'sessionDefaults', 'updatedAt'];

let server: TestServer;
let agent: AgentJson;
before(async () => {
  server = await startServer({ AGENT_SECRET_PROBE: 'x' });
  const created = await server.request('POST', '/api/agents', {
    body: {
      name: 'Upstream',
      system: 'The secret persona',
      provider: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'm', apiKeyEnv: 'AGENT_SECRET_PROBE' },
      sessionDefaults: { timeoutMinutes: 10 },
      metadata: { team: 'a' },
    },
  });
  assert.equal(created.status, 201, created.text);
  agent = created.body;
});
after(() => server.close());

describe('agents as seen without agents:manage', () => {
  test('a metrics:read or sessions:read key sees only the summary, in the list and alone', async () => {
    for (const scopes of [['metrics:read'], ['sessions:read', 'sessions:create']]) {
      const { key } = await createKey(server, scopes);
      const one = await call(server, 'GET', `/api/agents/${agent.id}`, { token: key });
      assert.equal(one.status, 200, one.text);
      assert.deepEqual(one.body, {
        id: agent.id,
        name: 'Upstream',
        provider: { type: 'openai' },
        sessionDefaults: { timeoutMinutes: 10 },
        metadata: { team: 'a' },
        createdAt: agent.createdAt,
        updatedAt: agent.updatedAt,
      });
      const list = await call(server, 'GET', '/api/agents', { token: key });
      assert.equal(list.status, 200, list.text);
      for (const seen of list.body.agents) assert.deepEqual(Object.keys(seen).sort(), SUMMARY_KEYS);
      for (const word of ['secret persona', '127.0.0.1:9', 'AGENT_SECRET_PROBE', '"model"']) assert.ok(!list.text.includes(word), word);
    }
  });

  test('a key with agents:manage (or *) sees the whole agent', async () => {
    for (const token of [ADMIN_KEY, (await createKey(server, ['agents:manage'])).key]) {
      const one = await call(server, 'GET', `/api/agents/${agent.id}`, { token });
      assert.equal(one.status, 200, one.text);
      assert.equal(one.body.system, 'The secret persona');
      assert.deepEqual(one.body.provider, {
        type: 'openai',
        baseUrl: 'http://127.0.0.1:9/v1',
        model: 'm',
        apiKeyEnv: 'AGENT_SECRET_PROBE',
      });
    }
  });

  test('the OpenAPI document shows both views', async () => {
    const doc = (await server.request('GET', '/openapi.json', { token: null })).body;
    const schema = JSON.stringify(doc.paths['/api/agents/{agentId}'].get.responses['200']);
    assert.match(schema, /AgentSummary/);
    assert.match(schema, /agents:manage/);
  });
});

describe('ids are compared case-insensitively, stored and returned in lower case', () => {
  test('a user in upper case is the same user as in lower case', async () => {
    const upper = '44444444-AAAA-4BBB-8CCC-DDDDDDDDDDDD';
    const created = await server.request('POST', S, { body: { agentId: ELIZA.toUpperCase(), userId: upper } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.userId, upper.toLowerCase());
    assert.equal(created.body.agentId, ELIZA);
    const again = await createSession(server, { userId: upper.toLowerCase() });
    for (const filter of [upper, upper.toLowerCase()]) {
      const list = await server.request('GET', `${S}?userId=${filter}&agentId=${ELIZA.toUpperCase()}`);
      assert.equal(list.status, 200, list.text);
      assert.deepEqual(list.body.sessions.map((s: SessionInfo) => s.sessionId).sort(), [created.body.sessionId, again.sessionId].sort());
      assert.equal(list.body.stats.totalSessions, 2);
    }
  });

  test('a session, an agent and a key named in upper case are found; a session token works with either', async () => {
    const session = await createSession(server);
    const upper = session.sessionId.toUpperCase();
    const got = await server.request('GET', `${S}/${upper}`, { token: session.sessionToken });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.sessionId, session.sessionId);
    const sent = await server.request('POST', `${S}/${upper}/messages`, { token: session.sessionToken, body: { content: 'hi' } });
    assert.equal(sent.status, 201, sent.text);
    const history = await server.request('GET', `${S}/${session.sessionId}/messages`);
    assert.equal(
      history.body.messages.some((m: MessageView) => m.id === sent.body.id),
      true,
    );

    const agentRes = await server.request('GET', `/api/agents/${agent.id.toUpperCase()}`);
    assert.equal(agentRes.status, 200, agentRes.text);
    assert.equal(agentRes.body.id, agent.id);

    const named = await server.request('POST', '/api/agents', {
      body: { id: '55555555-EEEE-4FFF-8AAA-BBBBBBBBBBBB', name: 'Upper', provider: { type: 'eliza' } },
    });
    assert.equal(named.status, 201, named.text);
    assert.equal(named.body.id, '55555555-eeee-4fff-8aaa-bbbbbbbbbbbb');

    const { id } = await createKey(server, ['sessions:read']);
    const revoked = await server.request('DELETE', `/api/keys/${id.toUpperCase()}`);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(
      (await server.app.store.listApiKeys()).some((k) => k.id === id),
      false,
    );

    const deleted = await server.request('DELETE', `${S}/${upper}`, { token: session.sessionToken });
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.message, `Session ${session.sessionId} deleted successfully`);
  });
});

describe('/docs (Swagger UI)', () => {
  test('every file of /docs carries the web app security headers', async () => {
    for (const path of ['/docs', '/docs/', '/docs/static/index.html', '/docs/static/swagger-ui-bundle.js', '/docs/json']) {
      const res = await fetch(server.url + path);
      assert.ok(res.status < 400, `${path}: ${res.status}`);
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /default-src 'none'/, path);
      assert.doesNotMatch(csp, /script-src[^;]*'unsafe-(inline|eval)'/, path);
    }
  });

  test('the page still renders every operation in Chromium, with no policy refusal', { skip: BROWSER_SKIP }, async () => {
    const browser = await launchBrowser();
    try {
      const { page, errors, consoleErrors, context } = await openPage(browser, server.url);
      await page.goto('/docs/static/index.html');
      await page.waitForSelector('.opblock-summary', { timeout: 15_000 });
      const count = await page.locator('.opblock-summary').count();
      assert.ok(count >= 15, `${count} operations`);
      assert.deepEqual(errors, []);
      assert.deepEqual(
        consoleErrors.filter((e) => /Content.Security.Policy|Refused/i.test(e)),
        [],
      );
      await context.close();
    } finally {
      await browser.close();
    }
  });
});
