/**
 * Transcript export (SPEC §12): the three formats byte for byte, the attachment headers, expired
 * sessions until purge, bad formats, and streaming: a large transcript is read from the store as
 * the client takes it (a client that stops reading stops the reads), not gathered first.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Message, MessageView } from '../../src/domain/message.js';
import { MINUTE } from '../support/clock.js';
import { ADMIN_KEY, createSession, startServer, type CreatedSession, type TestServer } from '../support/server.js';

const BASE = '/api/messaging/sessions';
let server: TestServer;

before(async () => {
  server = await startServer({ SESSION_RETENTION_MINUTES: '60' });
});
after(() => server.close());

/** A session with two exchanges with ELIZA (the http transport waits for each reply). */
async function conversation(): Promise<{ session: CreatedSession; token: string; messages: MessageView[] }> {
  const created = await createSession(server, { metadata: { ticket: 'T-1' } });
  for (const content of ['Hello there', 'I feel *fine*\n\n# not a heading of the export']) {
    server.clock.advance(1000);
    const sent = await server.request('POST', `${BASE}/${created.sessionId}/messages`, { body: { content, transport: 'http' } });
    assert.equal(sent.status, 201, sent.text);
  }
  const history = await server.request('GET', `${BASE}/${created.sessionId}/messages?limit=100`);
  assert.equal(history.body.messages.length, 4);
  return { session: created, token: created.sessionToken, messages: history.body.messages.reverse() };
}

async function info(sessionId: string) {
  const res = await server.request('GET', `${BASE}/${sessionId}`);
  assert.equal(res.status, 200);
  return res.body;
}

describe('formats', () => {
  test('json (the default): {session, messages oldest first, exportedAt}, as an attachment', async () => {
    const { session, messages } = await conversation();
    const expectedInfo = await info(session.sessionId);
    for (const path of [`${BASE}/${session.sessionId}/export`, `${BASE}/${session.sessionId}/export?format=json`]) {
      const res = await server.request('GET', path);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="session-${session.sessionId}.json"`);
      assert.equal(res.text, JSON.stringify({ session: expectedInfo, messages, exportedAt: new Date(server.clock.now()).toISOString() }));
    }
  });

  test('ndjson: a session line, then one line per message, oldest first', async () => {
    const { session, messages } = await conversation();
    const expectedInfo = await info(session.sessionId);
    const res = await server.request('GET', `${BASE}/${session.sessionId}/export?format=ndjson`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="session-${session.sessionId}.ndjson"`);
    const lines = [{ type: 'session', session: expectedInfo }, ...messages.map((message) => ({ type: 'message', message }))];
    assert.equal(res.text, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  });

  test('markdown: a heading with the session, then each message under its author and time, verbatim', async () => {
    const { session, messages } = await conversation();
    const i = await info(session.sessionId);
    const res = await server.request('GET', `${BASE}/${session.sessionId}/export?format=markdown`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/markdown; charset=utf-8');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="session-${session.sessionId}.md"`);
    const expected =
      `# Session ${i.sessionId}\n\n- Agent: Eliza (${i.agentId})\n- User: ${i.userId}\n- Status: active\n` +
      `- Created: ${i.createdAt}\n- Last activity: ${i.lastActivity}\n- Expires: ${i.expiresAt}\n` +
      `- Exported: ${new Date(server.clock.now()).toISOString()}\n\n` +
      messages.map((m) => `## ${m.isAgent ? 'Eliza' : 'User'} · ${m.createdAt}\n\n${m.content}\n\n`).join('');
    assert.equal(res.text, expected);
  });

  test('a session without messages', async () => {
    const created = await createSession(server);
    const res = await server.request('GET', `${BASE}/${created.sessionId}/export?format=ndjson`);
    assert.equal(res.text, `${JSON.stringify({ type: 'session', session: await info(created.sessionId) })}\n`);
    const json = await server.request('GET', `${BASE}/${created.sessionId}/export`);
    assert.deepEqual(json.body.messages, []);
  });
});

describe('which sessions, which requests', () => {
  test('an expired session exports until it is purged; then 404', async () => {
    const { session, messages } = await conversation();
    server.clock.advance(31 * MINUTE);
    assert.equal((await server.request('GET', `${BASE}/${session.sessionId}`)).status, 410);
    const res = await server.request('GET', `${BASE}/${session.sessionId}/export`);
    assert.equal(res.status, 200);
    assert.equal(res.body.session.status, 'expired');
    assert.deepEqual(res.body.messages, messages);
    server.clock.advance(60 * MINUTE);
    const gone = await server.request('GET', `${BASE}/${session.sessionId}/export`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'SESSION_NOT_FOUND');
  });

  test('another format is 400 VALIDATION_ERROR', async () => {
    const created = await createSession(server);
    for (const format of ['xml', 'JSON', 'md', '']) {
      const res = await server.request('GET', `${BASE}/${created.sessionId}/export?format=${format}`);
      assert.equal(res.status, 400, format);
      assert.equal(res.body.success, false);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    }
  });

  test('unknown and malformed ids are 404 SESSION_NOT_FOUND', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const res = await server.request('GET', `${BASE}/${id}/export`);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'SESSION_NOT_FOUND');
    }
  });

  test("a session token exports its own session, not another's", async () => {
    const own = await createSession(server);
    const other = await createSession(server);
    assert.equal((await server.request('GET', `${BASE}/${own.sessionId}/export`, { token: own.sessionToken })).status, 200);
    const refused = await server.request('GET', `${BASE}/${other.sessionId}/export`, { token: own.sessionToken });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'FORBIDDEN');
  });
});

describe('streaming', () => {
  test('a large transcript is read as the client takes it: a client that stops reading stops the reads', async () => {
    const created = await createSession(server);
    const sessionId = created.sessionId;
    const COUNT = 8000;
    const content = 'x'.repeat(4000);
    const start = server.clock.now();
    await server.app.store.transaction(async (tx) => {
      for (let i = 0; i < COUNT; i++) {
        const m: Message = {
          id: randomUUID(),
          sessionId,
          content: `${i} ${content}`,
          authorId: created.userId,
          isAgent: false,
          createdAt: start + i,
          metadata: {},
          attachments: [],
          inReplyTo: null,
        };
        await tx.insertMessage(m);
      }
    });

    // Counts the store reads the export makes (the calls go through unchanged).
    const store = server.app.store;
    const listMessages = store.listMessages.bind(store);
    let reads = 0;
    store.listMessages = (id, plan) => {
      if (id === sessionId) reads++;
      return listMessages(id, plan);
    };
    try {
      const url = new URL(`${server.url}${BASE}/${sessionId}/export?format=ndjson`);
      const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }, resolve).on('error', reject),
      );
      assert.equal(response.statusCode, 200);
      // Take the first chunk, then stop reading until the server has stopped reading too.
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve) =>
        response.on('data', (chunk: Buffer) => {
          if (chunks.length === 0) {
            response.pause();
            resolve();
          }
          chunks.push(chunk);
        }),
      );
      let seen = -1;
      while (seen !== reads) {
        seen = reads;
        await new Promise((r) => setTimeout(r, 300));
      }
      const batchesInAll = Math.ceil(COUNT / 500);
      assert.ok(reads < batchesInAll / 2, `the export read ${reads} of ${batchesInAll} batches while the client was not reading`);
      // Then everything arrives, in order.
      response.resume();
      await new Promise((r) => response.once('end', r));
      const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
      assert.equal(lines.length, COUNT + 1);
      assert.equal(JSON.parse(lines[1]!).message.content, `0 ${content}`);
      assert.equal(JSON.parse(lines[COUNT]!).message.content, `${COUNT - 1} ${content}`);
      assert.ok(reads >= batchesInAll);
    } finally {
      store.listMessages = listMessages;
    }
  });
});
