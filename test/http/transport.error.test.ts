/**
 * What Node's HTTP layer refuses, answered in the error envelope (SPEC §4): a request whose
 * headers or body do not arrive within REQUEST_TIMEOUT_SECONDS (408 REQUEST_TIMEOUT, then the
 * connection is closed), headers over Node's limit (431), broken framing (400). Raw sockets, so
 * the bytes on the wire are exactly the test's.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, createSession, startServer, type TestServer } from '../support/server.js';
import { storeSnapshot } from '../support/snapshot.js';

let server: TestServer;
before(async () => {
  server = await startServer({ REQUEST_TIMEOUT_SECONDS: '1' });
});
after(() => server.close());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** The parsed JSON answer, or the text when it is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape; the tests read it field by field and assert exact values
  body: any;
  /** Milliseconds from connecting to the connection's end. */
  ms: number;
}

/**
 * Writes `parts` (each after `gapMs`), then reads until the server closes the connection (or
 * `limitMs` passes, which fails the test).
 */
function raw(parts: Array<string | Buffer>, gapMs = 0, limitMs = 12_000): Promise<RawAnswer> {
  const { port, hostname } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect({ port: Number(port), host: hostname });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${limitMs} ms`));
    }, limitMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(limit);
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(
        headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      let body: unknown;
      try {
        body = JSON.parse(rest.join('\r\n\r\n'));
      } catch {
        body = rest.join('\r\n\r\n');
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, ms: Date.now() - started });
    });
    socket.on('connect', () => {
      let i = 0;
      const next = () => {
        if (i >= parts.length || socket.destroyed) return;
        socket.write(parts[i++]!);
        timer = setTimeout(next, gapMs);
      };
      next();
    });
  });
}

function assertEnvelope(answer: RawAnswer, status: number, code: string) {
  assert.equal(answer.status, status, JSON.stringify(answer));
  assert.equal(answer.body?.success, false, JSON.stringify(answer));
  assert.equal(answer.body.error.code, code);
  assert.equal(typeof answer.body.error.message, 'string');
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
}

describe('REQUEST_TIMEOUT_SECONDS', () => {
  test('a body sent one byte at a time is cut with 408 REQUEST_TIMEOUT and nothing is stored', async () => {
    const session = await createSession(server);
    const before = await storeSnapshot(server);
    const body = JSON.stringify({ content: 'slow words' });
    const head =
      `POST /api/messaging/sessions/${session.sessionId}/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    // The whole body would take some 10 s at this pace: it is cut long before.
    const answer = await raw([head, ...body.split('')], 400);
    assertEnvelope(answer, 408, 'REQUEST_TIMEOUT');
    assert.ok(answer.ms >= 1000 && answer.ms < 8000, `answered after ${answer.ms} ms`);
    assert.deepEqual(await storeSnapshot(server), before);
  });

  test('headers that never end are cut with 408 too', async () => {
    const answer = await raw(
      ['GET /healthz HTTP/1.1\r\n', 'Host: x\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n', 'X-D: 4\r\n', 'X-E: 5\r\n', 'X-F: 6\r\n'],
      400,
    );
    assertEnvelope(answer, 408, 'REQUEST_TIMEOUT');
  });

  test('a request that arrives in time is answered normally', async () => {
    const answer = await raw(['GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { status: 'ok' });
  });

  test('an event stream is not a slow request: it stays open past the timeout', async () => {
    const session = await createSession(server);
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/messaging/sessions/${session.sessionId}/events`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    await reader.read();
    const closed = reader.read().then((r) => r.done);
    const open = await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 2200))]);
    assert.equal(open, 'still open');
    controller.abort();
  });
});

describe("Node's own refusals in the envelope", () => {
  test('headers larger than Node allows: 431 in the envelope', async () => {
    const answer = await raw([`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    assertEnvelope(answer, 431, 'PAYLOAD_TOO_LARGE');
  });

  test('Content-Length together with Transfer-Encoding, or a broken request line: 400 in the envelope', async () => {
    const before = await storeSnapshot(server);
    const both =
      `POST /api/messaging/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\n` +
      'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n';
    assertEnvelope(await raw([both]), 400, 'VALIDATION_ERROR');
    assertEnvelope(await raw(['GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n']), 400, 'VALIDATION_ERROR');
    assertEnvelope(
      await raw(['POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab']),
      400,
      'VALIDATION_ERROR',
    );
    assert.deepEqual(await storeSnapshot(server), before);
  });
});
