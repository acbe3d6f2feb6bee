/** The app's one text/event-stream parser, fed the way networks deliver: in arbitrary pieces. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { frameJson, SseParser, type SseFrame } from '../../../web/src/sse/parser.js';
import { readEventStream } from '../../../web/src/sse/read.js';

const parseAll = (text: string): SseFrame[] => {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
};

/** The same text cut at every possible point must give the same frames. */
function everySplit(text: string): SseFrame[][] {
  const results: SseFrame[][] = [];
  for (let cut = 0; cut <= text.length; cut++) {
    const parser = new SseParser();
    results.push([...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut)), ...parser.end()]);
  }
  return results;
}

describe('SseParser', () => {
  test('id, event and data fields; the frame ends at a blank line', () => {
    assert.deepEqual(parseAll('id: 7\nevent: session.renewed\ndata: {"seq":7}\n\n'), [
      { id: '7', event: 'session.renewed', data: '{"seq":7}' },
    ]);
  });

  test('CRLF, LF and CR all end lines, also mixed', () => {
    const expected = [
      { id: '1', event: 'a', data: 'x' },
      { id: '2', event: 'b', data: 'y' },
      { id: '3', event: 'c', data: 'z' },
    ];
    assert.deepEqual(parseAll('id: 1\r\nevent: a\r\ndata: x\r\n\r\nid: 2\revent: b\rdata: y\r\rid: 3\nevent: c\ndata: z\n\n'), expected);
  });

  test('a CRLF split between two pieces is one line end, not two', () => {
    for (const frames of everySplit('event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n')) {
      assert.deepEqual(frames, [
        { id: '', event: 'a', data: '1' },
        { id: '', event: 'b', data: '2' },
      ]);
    }
  });

  test('comments are ignored; a frame of comments only dispatches nothing', () => {
    assert.deepEqual(parseAll(': heartbeat\n\n:another\ndata: kept\n\n'), [{ id: '', event: 'message', data: 'kept' }]);
  });

  test('data lines join with a line feed; only one leading space is removed', () => {
    assert.deepEqual(parseAll('data:first\ndata:  second\ndata\n\n'), [{ id: '', event: 'message', data: 'first\n second\n' }]);
  });

  test('the event type resets after each frame; the id carries over to later frames', () => {
    assert.deepEqual(parseAll('id: 4\nevent: one\ndata: a\n\ndata: b\n\n'), [
      { id: '4', event: 'one', data: 'a' },
      { id: '4', event: 'message', data: 'b' },
    ]);
  });

  test('an id without data still moves lastEventId; an id with NUL is ignored', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('id: 9\n\n'), []);
    assert.equal(parser.lastEventId, '9');
    parser.push('id: 1\u00002\n\n');
    assert.equal(parser.lastEventId, '9');
  });

  test('a frame not ended by a blank line is discarded at the end of the stream', () => {
    assert.deepEqual(parseAll('data: complete\n\ndata: cut off\n'), [{ id: '', event: 'message', data: 'complete' }]);
  });

  test('a leading byte order mark is dropped, only at the start', () => {
    assert.deepEqual(parseAll('\uFEFFdata: a\n\n'), [{ id: '', event: 'message', data: 'a' }]);
  });

  test('unknown fields and retry are ignored', () => {
    assert.deepEqual(parseAll('retry: 10\nfoo: bar\ndata: a\n\n'), [{ id: '', event: 'message', data: 'a' }]);
  });

  test('frameJson parses JSON data and gives undefined for anything else', () => {
    assert.deepEqual(frameJson({ id: '', event: 'x', data: '{"a":[1,2]}' }), { a: [1, 2] });
    assert.equal(frameJson({ id: '', event: 'x', data: 'not json' }), undefined);
  });
});

describe('readEventStream', () => {
  test('reads a body delivered in pieces that split lines and UTF-8 characters', async () => {
    const text = 'id: 1\nevent: chunk\ndata: {"chunk":"héllo ✓ 𝄞"}\n\n: ping\n\nid: 2\nevent: done\ndata: {}\n\n';
    const bytes = new TextEncoder().encode(text);
    // Pieces of 1, 2, 3 … bytes: every multi-byte character is cut somewhere.
    const pieces: Uint8Array[] = [];
    for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % 5) + 1) pieces.push(bytes.slice(at, at + size));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(piece);
        controller.close();
      },
    });
    const frames: SseFrame[] = [];
    const parser = await readEventStream(new Response(body), (frame) => frames.push(frame));
    assert.deepEqual(frames, [
      { id: '1', event: 'chunk', data: '{"chunk":"héllo ✓ 𝄞"}' },
      { id: '2', event: 'done', data: '{}' },
    ]);
    assert.equal(parser.lastEventId, '2');
  });
});
