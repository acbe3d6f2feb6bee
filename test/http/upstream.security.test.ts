/**
 * What a hostile model endpoint can make the server do: follow a redirect with the system prompt
 * and the conversation to another server (it must not), and put the provider's key into the
 * logs by echoing it back, plain, URL-encoded, hex or base64-encoded (it must not). Real
 * servers on real ports; the logs are the server's real log output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startRecordingServer, type RecordingServer } from '../support/recording-server.js';
import { createAgent, sessionWith, startLoggedServer, type LoggedServer } from '../agents/helpers.js';

const KEY_ENV = 'AGENT_SECRET_TEST_HOSTILE_KEY';
const API_KEY = 'sk-hostile-test-4e8a1c9b7d2f6a3e5c0b8d7f';
process.env[KEY_ENV] = API_KEY;

let server: LoggedServer;
let target: RecordingServer;
let upstream: RecordingServer;
let answer: (path: string) => { status: number; headers: Record<string, string>; body: string };

before(async () => {
  target = await startRecordingServer(async (_record, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: [DONE]\n\n');
  });
  upstream = await startRecordingServer(async (record, res) => {
    const { status, headers, body } = answer(record.path);
    res.writeHead(status, headers).end(body);
  });
  server = await startLoggedServer({ AGENT_TIMEOUT_SECONDS: '5' });
});
after(async () => {
  await server.close();
  await upstream.close();
  await target.close();
});

async function replyWith(system = 'The secret persona') {
  const agent = await createAgent(server, { type: 'openai', baseUrl: `${upstream.origin}/v1`, model: 'm', apiKeyEnv: KEY_ENV }, { system });
  const session = await sessionWith(server, agent.id);
  const res = await server.request('POST', `/api/messaging/sessions/${session.sessionId}/messages`, {
    body: { content: 'my private words', transport: 'http' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

describe('the OpenAI-compatible provider', () => {
  test('refuses a redirect: the target sees no request, the reply fails as HTTP 307', async () => {
    for (const status of [307, 308, 302]) {
      answer = () => ({ status, headers: { location: `${target.origin}/v1/chat/completions` }, body: '' });
      const before = upstream.requests.length;
      const body = await replyWith();
      assert.equal(upstream.requests.length, before + 1);
      assert.equal(target.requests.length, 0, 'the redirect target received the conversation');
      assert.equal(body.agentError.code, 'AGENT_FAILED');
      assert.equal(body.agentError.message, `The model endpoint answered HTTP ${status}`);
      assert.equal(body.agentResponse, undefined);
    }
  });

  test('a key echoed back in any encoding never reaches a log line', async () => {
    const raw = Buffer.from(API_KEY);
    const echoes = [
      API_KEY,
      encodeURIComponent(`key=${API_KEY}&x=1`),
      raw.toString('hex'),
      raw.toString('hex').toUpperCase(),
      raw.toString('base64'),
      raw.toString('base64url'),
      Buffer.from(`Bearer ${API_KEY}`).toString('base64'),
      Buffer.from(`Authorization: Bearer ${API_KEY}`).toString('base64'),
      Buffer.from(`x${API_KEY}`).toString('base64url'),
    ];
    for (const echo of echoes) {
      answer = () => ({
        status: 401,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: { message: `bad credentials: ${echo}`, type: 'invalid_request_error' } }),
      });
      const body = await replyWith();
      assert.equal(body.agentError.code, 'AGENT_FAILED');
      assert.ok(!JSON.stringify(body).includes(echo));
    }
    const logs = server.logText();
    assert.ok(logs.includes('bad credentials: [redacted]'), 'the upstream answers were logged, masked');
    for (const echo of echoes) assert.ok(!logs.includes(echo), `an echo of the key is in the logs: ${echo}`);
    // Nor any long piece of the key's base64 at any alignment.
    for (let shift = 0; shift < 3; shift++) {
      const encoded = Buffer.concat([Buffer.alloc(shift, 0x41), raw]).toString('base64');
      assert.ok(!logs.includes(encoded.slice(4, 28)), `a piece of the base64 key (shift ${shift}) is in the logs`);
    }
  });
});
