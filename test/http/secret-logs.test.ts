/**
 * No secret in any log line or error body: API keys (configured, created, wrong), session
 * tokens (header or `?token=`) and a provider's API key, with the server logging at debug
 * level (every request gets an access line) into a buffer this test reads.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { loggerOptions } from '../../src/app.js';
import { parseSettings } from '../../src/settings.js';
import { call } from '../support/auth.js';
import { ManualClock } from '../support/clock.js';
import { ADMIN_KEY, ELIZA, USER, startServer, type TestServer } from '../support/server.js';

const S = '/api/messaging/sessions';
const PROVIDER_KEY_ENV = 'AGENT_SECRET_TEST_PROVIDER_KEY';
const PROVIDER_KEY = 'sk-test-provider-secret-5d1c0f7e9a2b4c6d';
const WRONG_KEY = 'ask_WrongButSecretLookingValue0123456789abcdefg';

let server: TestServer;
let logs = '';

before(async () => {
  process.env[PROVIDER_KEY_ENV] = PROVIDER_KEY;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  const logger = { ...(loggerOptions(parseSettings({ LOG_LEVEL: 'debug' })) as object), stream: sink };
  server = await startServer({ LOG_LEVEL: 'debug', AGENT_TIMEOUT_SECONDS: '2' }, new ManualClock(), undefined, { logger });
});
after(async () => {
  await server.close();
  delete process.env[PROVIDER_KEY_ENV];
});

test('keys, tokens and provider keys never reach a log line or an error body', async () => {
  const secrets: string[] = [ADMIN_KEY, WRONG_KEY, PROVIDER_KEY];
  const bodies: string[] = [];
  const remember = (res: { text: string }) => bodies.push(res.text);

  remember(await call(server, 'GET', S, { token: ADMIN_KEY }));
  remember(await call(server, 'GET', S, { token: ADMIN_KEY, place: 'x-api-key' }));
  remember(await call(server, 'GET', S, { token: WRONG_KEY }));
  remember(await call(server, 'GET', S, { token: WRONG_KEY, place: 'x-api-key' }));

  const created = await call(server, 'POST', '/api/keys', { token: ADMIN_KEY, body: { name: 'logged?', scopes: ['*'] } });
  const key: string = created.body.key;
  secrets.push(key);
  remember(await call(server, 'GET', '/api/keys', { token: key }));
  remember(await call(server, 'GET', '/api/keys', { token: key, place: 'x-api-key' }));

  const session = await call(server, 'POST', S, { token: key, body: { agentId: ELIZA, userId: USER } });
  const token: string = session.body.sessionToken;
  secrets.push(token);
  const id = session.body.sessionId;
  remember(await call(server, 'GET', `${S}/${id}`, { token }));
  remember(await call(server, 'GET', `${S}/${id}/events`, { token, place: 'query' }));
  remember(await call(server, 'GET', `${S}/${id}/events?lastEventId=0`, { token, place: 'query' }));
  // The parameter's name percent-encoded (`%74oken` is `token`): still a credential, still masked.
  const encoded = await call(server, 'GET', `${S}/${id}/events?%74oken=${token}`);
  assert.equal(encoded.status, 200);
  remember(encoded);
  remember(await call(server, 'GET', `${S}/${id}/events?lastEventId=abc&%74oken=${token}`)); // refused: 400
  remember(await call(server, 'GET', `${S}/${id}/messages`, { token, place: 'query' })); // refused: 401
  remember(await call(server, 'PATCH', `${S}/${id}/timeout`, { token, body: {} })); // refused: 403
  remember(await call(server, 'POST', `${S}/${id}/messages`, { token, body: { content: 'hello', transport: 'http' } }));

  // A provider whose key comes from the environment, failing: its failure is logged.
  const agent = await call(server, 'POST', '/api/agents', {
    token: ADMIN_KEY,
    body: { name: 'Leaky?', provider: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'm', apiKeyEnv: PROVIDER_KEY_ENV } },
  });
  assert.equal(agent.status, 201, agent.text);
  remember(agent);
  const withProvider = await call(server, 'POST', S, { token: ADMIN_KEY, body: { agentId: agent.body.id, userId: USER } });
  secrets.push(withProvider.body.sessionToken);
  const failed = await call(server, 'POST', `${S}/${withProvider.body.sessionId}/messages`, {
    token: withProvider.body.sessionToken,
    body: { content: 'hi', transport: 'http' },
  });
  assert.equal(failed.status, 201, failed.text);
  assert.ok(failed.body.agentError, 'the provider call failed as intended');
  remember(failed);

  // Access lines of aborted streams are written when their connections close.
  await new Promise((resolve) => setTimeout(resolve, 200));

  assert.ok(logs.includes('"request"'), 'access lines were logged at debug level');
  assert.ok(logs.includes('token=[redacted]'), 'the query token is masked in logged URLs');
  assert.ok(logs.includes('agent reply failed'), 'the provider failure was logged');
  for (const secret of secrets) {
    assert.ok(!logs.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the logs`);
    // Nor any long piece of it (a partial leak is a leak).
    assert.ok(!logs.includes(secret.slice(-24)), `the tail of a secret (${secret.slice(0, 6)}…) is in the logs`);
  }
  for (const body of bodies) {
    for (const secret of secrets) assert.ok(!body.includes(secret), `an answer carries a secret: ${body.slice(0, 200)}`);
  }
});
