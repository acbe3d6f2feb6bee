import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createSession, startServer, type TestServer } from '../support/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

test('create, send over http, read history', async () => {
  const session = await createSession(server);
  const sent = await server.request('POST', `/api/messaging/sessions/${session.sessionId}/messages`, {
    body: { content: 'I am feeling sad today', transport: 'http' },
  });
  assert.equal(sent.status, 201, sent.text);
  assert.equal(sent.body.content, 'I am feeling sad today');
  assert.ok(sent.body.agentResponse.text.length > 0);
  const history = await server.request('GET', `/api/messaging/sessions/${session.sessionId}/messages`);
  assert.equal(history.status, 200);
  assert.equal(history.body.messages.length, 2);
  assert.equal(history.body.messages[0].isAgent, true);
});

test('unknown route and wrong method', async () => {
  const missing = await server.request('GET', '/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body.error.code, 'NOT_FOUND');
  const wrong = await server.request('PUT', '/api/messaging/sessions');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET, HEAD, POST');
});

test('openapi document', async () => {
  const res = await server.request('GET', '/openapi.json');
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, '3.1.0');
  assert.ok(res.body.paths['/api/messaging/sessions/{sessionId}/messages']);
});
