/**
 * OUTBOUND_DENY_PRIVATE (SPEC §11): with it on, webhooks and agents' providers cannot reach
 * loopback, private, link-local or unique-local addresses, whether named literally or by a DNS
 * name that resolves to one (checked on the address actually connected to). Off (the default),
 * local receivers work. Literal private targets are refused before any connection is made.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { isPrivateAddress, outboundClient } from '../../src/outbound/guard.js';
import { startRecordingServer, type RecordingServer } from '../support/recording-server.js';
import { createSession, startServer, type TestServer } from '../support/server.js';

let server: TestServer | undefined;
let receiver: RecordingServer | undefined;
afterEach(async () => {
  await server?.close();
  await receiver?.close();
  server = receiver = undefined;
});

const ok = async () => (receiver = await startRecordingServer(async (_r, res) => void res.writeHead(200).end('{"text":"hi"}')));

describe('which addresses are refused', () => {
  const refused = [
    '127.0.0.1',
    '127.255.0.9',
    '::1',
    '[::1]',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    'fe80::1',
    'fd12:3456::1',
    'fc00::1',
    '0.0.0.0',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
  ];
  const allowed = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', 'example.com'];
  for (const address of refused) test(`refused: ${address}`, () => assert.equal(isPrivateAddress(address), true));
  for (const address of allowed) test(`allowed: ${address}`, () => assert.equal(isPrivateAddress(address), false));
});

describe('the HTTP client', () => {
  test('on: a loopback receiver, by address or by a name resolving to it, is never contacted', async () => {
    const rec = await ok();
    const client = outboundClient(true);
    const port = new URL(rec.origin).port;
    try {
      for (const url of [
        `http://127.0.0.1:${port}/`,
        `http://localhost:${port}/`,
        `http://[::1]:${port}/`,
        'http://10.0.0.1:8080/',
        'http://169.254.169.254/latest/meta-data/',
      ]) {
        await assert.rejects(
          client.fetch(url, { method: 'POST', body: '{}' }),
          (error: Error & { cause?: { code?: string; message?: string } }) => {
            assert.equal(error.cause?.code, 'OUTBOUND_REFUSED', `${url}: ${error.cause?.message ?? error.message}`);
            return true;
          },
        );
      }
      assert.equal(rec.requests.length, 0);
    } finally {
      await client.close();
    }
  });

  test('off: the same receiver is reached', async () => {
    const rec = await ok();
    const client = outboundClient(false);
    try {
      const res = await client.fetch(`${rec.origin.replace('127.0.0.1', 'localhost')}/x`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 200);
      await res.text();
      assert.equal(rec.requests.length, 1);
    } finally {
      await client.close();
    }
  });
});

describe('OUTBOUND_DENY_PRIVATE=true on a server', () => {
  test('webhook deliveries to loopback and to a name resolving to it fail, and are recorded as refused', async () => {
    server = await startServer({ OUTBOUND_DENY_PRIVATE: 'true' });
    const rec = await ok();
    const urls = [rec.origin, rec.origin.replace('127.0.0.1', 'localhost'), 'http://192.168.0.10:8080/hook'];
    const hooks = [];
    for (const url of urls) {
      const res = await server.request('POST', '/api/webhooks', { body: { url, events: ['session.created'] } });
      assert.equal(res.status, 201, 'the setting judges where a connection goes, not the URL at create');
      hooks.push(res.body.id);
    }
    await createSession(server);
    assert.equal(await server.app.deliveries.tick(), 3);
    assert.equal(rec.requests.length, 0);
    for (const id of hooks) {
      const [d] = (await server.request('GET', `/api/webhooks/${id}/deliveries`)).body.deliveries as [
        { status: string; lastStatus: number | null; lastError: string },
      ];
      assert.equal(d.status, 'pending');
      assert.equal(d.lastStatus, null);
      assert.match(d.lastError, /refused to connect to .*OUTBOUND_DENY_PRIVATE/);
    }
  });

  test("an agent's webhook provider on loopback is not called: the reply fails, the message stays", async () => {
    server = await startServer({ OUTBOUND_DENY_PRIVATE: 'true' });
    const rec = await ok();
    for (const url of [rec.origin, rec.origin.replace('127.0.0.1', 'localhost')]) {
      const agent = await server.request('POST', '/api/agents', { body: { name: 'Local', provider: { type: 'webhook', url } } });
      assert.equal(agent.status, 201);
      const s = await createSession(server, { agentId: agent.body.id });
      const sent = await server.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, {
        body: { content: 'hello', transport: 'http' },
      });
      assert.equal(sent.status, 201);
      assert.equal(sent.body.agentError.code, 'AGENT_UNAVAILABLE');
      assert.equal(sent.body.agentResponse, undefined);
    }
    assert.equal(rec.requests.length, 0);
  });

  test("an agent's OpenAI-compatible endpoint on loopback is not called either", async () => {
    server = await startServer({ OUTBOUND_DENY_PRIVATE: 'true' });
    const rec = await ok();
    const agent = await server.request('POST', '/api/agents', {
      body: { name: 'Model', provider: { type: 'openai', baseUrl: `${rec.origin}/v1`, model: 'm' } },
    });
    assert.equal(agent.status, 201);
    const s = await createSession(server, { agentId: agent.body.id });
    const sent = await server.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, {
      body: { content: 'hello', transport: 'http' },
    });
    assert.equal(sent.status, 201);
    assert.ok(sent.body.agentError, JSON.stringify(sent.body));
    assert.equal(rec.requests.length, 0);
  });

  test('off (the default): the agent on loopback answers', async () => {
    server = await startServer();
    const rec = await ok();
    const agent = await server.request('POST', '/api/agents', { body: { name: 'Local', provider: { type: 'webhook', url: rec.origin } } });
    const s = await createSession(server, { agentId: agent.body.id });
    const sent = await server.request('POST', `/api/messaging/sessions/${s.sessionId}/messages`, {
      body: { content: 'hello', transport: 'http' },
    });
    assert.equal(sent.body.agentResponse.text, 'hi');
    assert.equal(rec.requests.length, 1);
  });
});
