/** The line splitter under the webhook's SSE and NDJSON readers, fed byte pieces directly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentError } from '../../src/agents/provider.js';
import { lines } from '../../src/agents/webhook.js';
import { signBody } from '../../src/outbound/signature.js';

async function* pieces(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? new TextEncoder().encode(part) : part;
}

async function collect(source: AsyncIterable<Uint8Array>, max?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines(source, max)) out.push(line);
  return out;
}

test('LF, CRLF and CR all end a line, even when split across pieces', async () => {
  assert.deepEqual(await collect(pieces('a\nb\r\nc\rd')), ['a', 'b', 'c', 'd']);
  assert.deepEqual(await collect(pieces('a\r', '\nb\r', 'c\r', '')), ['a', 'b', 'c']);
  assert.deepEqual(await collect(pieces('a\r', '\r\n')), ['a', '']);
});

test('a blank line survives (SSE dispatches on it) and a trailing line without a break is kept', async () => {
  assert.deepEqual(await collect(pieces('x\n\ny')), ['x', '', 'y']);
  assert.deepEqual(await collect(pieces('x\n')), ['x']);
  assert.deepEqual(await collect(pieces()), []);
});

test('a multi-byte character split between pieces decodes once, whole', async () => {
  const bytes = new TextEncoder().encode('héllo 🙂\n');
  const parts = [...bytes].map((b) => Uint8Array.of(b));
  assert.deepEqual(await collect(pieces(...parts)), ['héllo 🙂']);
});

test('a line that never ends is refused past the limit', async () => {
  await assert.rejects(collect(pieces('a'.repeat(50), 'b'.repeat(60)), 100), (error: unknown) => {
    assert.ok(error instanceof AgentError);
    assert.equal(error.code, 'AGENT_FAILED');
    return true;
  });
});

test('signBody is sha256=<hex HMAC-SHA256> of the exact body', () => {
  // RFC 4231 test case 2.
  assert.equal(signBody('what do ya want for nothing?', 'Jefe'), 'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});
