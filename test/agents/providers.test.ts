/**
 * Managing agents with provider settings, and the server's behaviour when a provider's endpoint
 * is not there: validation names the field, nothing stops the server, replies fail cleanly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';
import { ELIZA, startServer, type TestServer } from '../support/server.js';
import { freePort } from '../support/ports.js';
import { createAgent, historyOf, sendHttp, sessionWith } from './helpers.js';

let server: TestServer;
let fake: FakeOpenAI;

before(async () => {
  fake = await startFakeOpenAI({ kind: 'stream', chunks: ['from ', 'the model'] });
  server = await startServer({ AGENT_TIMEOUT_SECONDS: '2' });
});
after(async () => {
  await server.close();
  await fake.close();
});

describe('validation of provider settings', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['openai with a baseUrl that is not a URL', { type: 'openai', baseUrl: 'not a url', model: 'm' }, /provider\.baseUrl/],
    ['openai with a non-http baseUrl', { type: 'openai', baseUrl: 'ftp://models.example.com', model: 'm' }, /provider\.baseUrl/],
    ['openai without model', { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1' }, /provider\.model: is required/],
    ['openai with an empty model', { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: '' }, /provider\.model/],
    ['openai with a key inline', { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKey: 'sk-x' }, /provider\.apiKey/],
    [
      'openai with a bad variable name',
      { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnv: 'my key' },
      /provider\.apiKeyEnv/,
    ],
    // Only AGENT_SECRET_… variables: anything else could hand the server's own secrets to the URL.
    [
      'openai naming SESSIONS_API_KEY',
      { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnv: 'SESSIONS_API_KEY' },
      /provider\.apiKeyEnv/,
    ],
    [
      'openai naming OPENAI_API_KEY',
      { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnv: 'OPENAI_API_KEY' },
      /provider\.apiKeyEnv/,
    ],
    [
      'openai naming the bare prefix',
      { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnv: 'AGENT_SECRET_' },
      /provider\.apiKeyEnv/,
    ],
    [
      'openai naming a lower-case variable',
      { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnv: 'agent_secret_key' },
      /provider\.apiKeyEnv/,
    ],
    ['webhook naming DATABASE_URL', { type: 'webhook', url: 'http://127.0.0.1:1/', secretEnv: 'DATABASE_URL' }, /provider\.secretEnv/],
    [
      'openai with temperature out of range',
      { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', temperature: 5 },
      /provider\.temperature/,
    ],
    ['openai with maxTokens 0', { type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', maxTokens: 0 }, /provider\.maxTokens/],
    ['webhook without url', { type: 'webhook' }, /provider\.url: is required/],
    ['webhook with a bad url', { type: 'webhook', url: 'javascript:alert(1)' }, /provider\.url/],
    ['webhook with a tiny timeoutMs', { type: 'webhook', url: 'http://127.0.0.1:1/', timeoutMs: 5 }, /provider\.timeoutMs/],
    ['an unknown provider type', { type: 'anthropic-direct' }, /provider/],
  ];
  for (const [name, provider, field] of cases) {
    test(`POST: ${name} → 400 naming the field`, async () => {
      const res = await server.request('POST', '/api/agents', { body: { name: 'x', provider } });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
      assert.match(res.body.error.details, field);
    });
  }

  test('PATCH with bad provider settings → 400 naming the field, agent unchanged', async () => {
    const agent = await createAgent(server, { type: 'openai', baseUrl: fake.baseUrl, model: 'm' });
    const res = await server.request('PATCH', `/api/agents/${agent.id}`, { body: { provider: { type: 'openai', baseUrl: fake.baseUrl } } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    assert.match(res.body.error.details, /provider\.model: is required/);
    const again = await server.request('GET', `/api/agents/${agent.id}`);
    assert.deepEqual(again.body.provider, agent.provider);
  });
});

describe('agents over /api/agents', () => {
  test('create, switch provider, delete: each reply uses the provider current at the time', async () => {
    const agent = await createAgent(server, { type: 'eliza' });
    const session = await sessionWith(server, agent.id);
    const eliza = await sendHttp(server, session.sessionId, 'I feel happy');
    assert.equal(eliza.agentError, undefined);

    const changed = await server.request('PATCH', `/api/agents/${agent.id}`, {
      body: { provider: { type: 'openai', baseUrl: fake.baseUrl, model: 'switched' } },
    });
    assert.equal(changed.status, 200, changed.text);
    const next = fake.nextRequest();
    const model = await sendHttp(server, session.sessionId, 'and now?');
    assert.equal(model.agentResponse.text, 'from the model');
    assert.equal((await next).body.model, 'switched');

    const removed = await server.request('DELETE', `/api/agents/${agent.id}?force=true`);
    assert.equal(removed.status, 200, removed.text);
    assert.equal((await server.request('GET', `/api/agents/${agent.id}`)).status, 404);
  });
});

describe('unreachable endpoints', () => {
  test('an openai agent pointing at a closed port: agentError on send, the server carries on', async () => {
    const port = await freePort();
    const agent = await createAgent(server, { type: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' });
    const session = await sessionWith(server, agent.id);
    const started = performance.now();
    const sent = await sendHttp(server, session.sessionId, 'anyone?');
    assert.equal(sent.agentError.code, 'AGENT_UNAVAILABLE');
    assert.ok(performance.now() - started < 1000, 'a refused connection fails at once, not at the timeout');
    const history = await historyOf(server, session.sessionId);
    assert.deepEqual(
      history.map((m) => m.content),
      ['anyone?'],
    );
    assert.equal((await server.request('GET', '/healthz')).status, 200);
    // Other agents are unaffected.
    const other = await sessionWith(server, ELIZA);
    assert.ok((await sendHttp(server, other.sessionId, 'hello')).agentResponse.text.length > 0);
  });

  test('a webhook agent pointing at a closed port: agentError on send', async () => {
    const port = await freePort();
    const agent = await createAgent(server, { type: 'webhook', url: `http://127.0.0.1:${port}/hook` });
    const session = await sessionWith(server, agent.id);
    const sent = await sendHttp(server, session.sessionId, 'anyone?');
    assert.equal(sent.agentError.code, 'AGENT_UNAVAILABLE');
  });

  test('agents whose endpoints are down at start-up do not stop the server', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-agents-'));
    const id = '22222222-2222-4222-8222-222222222222';
    writeFileSync(
      join(dir, 'down.json'),
      JSON.stringify({
        id,
        name: 'Down',
        provider: { type: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', apiKeyEnv: 'AGENT_SECRET_TEST_NOT_SET' },
      }),
    );
    writeFileSync(
      join(dir, 'hook.json'),
      JSON.stringify({ name: 'Hook down', provider: { type: 'webhook', url: `http://127.0.0.1:${port}/` } }),
    );
    const local = await startServer({ AGENTS_DIR: dir, AGENT_TIMEOUT_SECONDS: '1' });
    try {
      assert.equal((await local.request('GET', '/healthz')).status, 200);
      const agents = await local.request('GET', '/api/agents');
      assert.deepEqual(agents.body.agents.map((a: { name: string }) => a.name).sort(), ['Down', 'Eliza', 'Hook down']);
      const session = await sessionWith(local, id);
      const sent = await sendHttp(local, session.sessionId, 'hello');
      assert.equal(sent.agentError.code, 'AGENT_UNAVAILABLE');
    } finally {
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
