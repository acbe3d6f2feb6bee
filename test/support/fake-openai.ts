/**
 * A small OpenAI-compatible chat-completions server for tests: real HTTP on a free port, the
 * streaming wire protocol (`data: <chat.completion.chunk>` frames, then `data: [DONE]`), every
 * request recorded, and failure modes on demand.
 */
import { startRecordingServer, type RecordedRequest } from './recording-server.js';

export type { RecordedRequest };

export type OpenAIBehaviour =
  /** Streams `chunks` as content deltas, `delayMs` apart, then finishes properly. */
  | { kind: 'stream'; chunks: string[]; delayMs?: number; reasoning?: string[] }
  /** Answers `status` with an OpenAI-style error body. */
  | { kind: 'status'; status: number; message?: string }
  /** Streams `before`, then a frame that is not JSON, then closes. */
  | { kind: 'malformed'; before?: string[] }
  /** Streams `before`, then keeps the response open forever. */
  | { kind: 'hang'; before?: string[] }
  /** Streams `before`, then destroys the connection mid-response. */
  | { kind: 'drop'; before?: string[] }
  /** Streams `chunks`, then closes cleanly without a finish_reason or [DONE]. */
  | { kind: 'truncated'; chunks: string[] }
  /** Waits `delayMs` before sending anything at all (not even headers). */
  | { kind: 'slow'; delayMs: number; chunks: string[] }
  /** Streams `before`, waits until `release` resolves, then streams `after` and finishes properly. */
  | { kind: 'gated'; before: string[]; release: Promise<void>; after: string[] }
  /** For each stage in turn: waits until its `release` resolves (if given), streams its chunks; then finishes properly. */
  | { kind: 'stages'; stages: Array<{ release?: Promise<void>; chunks: string[] }> };

export interface FakeOpenAI {
  /** The base URL to configure (`…/v1`). */
  baseUrl: string;
  behaviour: OpenAIBehaviour;
  requests: RecordedRequest[];
  /** Resolves with the next request received (or the one already received at that position). */
  nextRequest(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

const chunkFrame = (model: string, delta: Record<string, unknown>, finish: string | null) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  })}\n\n`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFakeOpenAI(behaviour: OpenAIBehaviour = { kind: 'stream', chunks: ['Hello', ' there'] }): Promise<FakeOpenAI> {
  const recorder = await startRecordingServer(async (record, res) => {
    if (record.method !== 'POST' || !record.path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    const model = String(record.body?.model ?? 'unknown');
    const current = fake.behaviour;
    const streamHead = () => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const open = () => !res.destroyed && !res.writableEnded;
    const writeChunks = async (chunks: string[], delayMs = 0) => {
      res.write(chunkFrame(model, { role: 'assistant', content: '' }, null));
      for (const chunk of chunks) {
        if (delayMs) await sleep(delayMs);
        if (!open()) return;
        res.write(chunkFrame(model, { content: chunk }, null));
      }
    };

    switch (current.kind) {
      case 'stream': {
        streamHead();
        for (const piece of current.reasoning ?? []) res.write(chunkFrame(model, { reasoning_content: piece }, null));
        await writeChunks(current.chunks, current.delayMs);
        if (!open()) return;
        res.write(chunkFrame(model, {}, 'stop'));
        res.write('data: [DONE]\n\n');
        res.end();
        return;
      }
      case 'slow': {
        await sleep(current.delayMs);
        if (!open()) return;
        streamHead();
        await writeChunks(current.chunks);
        res.write(chunkFrame(model, {}, 'stop'));
        res.write('data: [DONE]\n\n');
        res.end();
        return;
      }
      case 'gated':
      case 'stages': {
        const stages =
          current.kind === 'stages' ? current.stages : [{ chunks: current.before }, { release: current.release, chunks: current.after }];
        streamHead();
        res.write(chunkFrame(model, { role: 'assistant', content: '' }, null));
        for (const stage of stages) {
          await stage.release;
          if (!open()) return;
          for (const chunk of stage.chunks) res.write(chunkFrame(model, { content: chunk }, null));
        }
        res.write(chunkFrame(model, {}, 'stop'));
        res.write('data: [DONE]\n\n');
        res.end();
        return;
      }
      case 'status':
        res
          .writeHead(current.status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: current.message ?? 'upstream exploded', type: 'server_error', code: null } }));
        return;
      case 'malformed':
        streamHead();
        await writeChunks(current.before ?? []);
        res.write('data: {"id":"chatcmpl-fake","choices":[{"index":0,"delta":{"content":"oops"\n\n');
        res.end();
        return;
      case 'truncated':
        streamHead();
        await writeChunks(current.chunks);
        res.end();
        return;
      case 'hang':
        streamHead();
        await writeChunks(current.before ?? []);
        return;
      case 'drop':
        streamHead();
        await writeChunks(current.before ?? []);
        await sleep(20);
        record.closedByServer = true;
        res.socket?.destroy();
        return;
    }
  });

  const fake: FakeOpenAI = {
    baseUrl: `${recorder.origin}/v1`,
    behaviour,
    requests: recorder.requests,
    nextRequest: () => recorder.nextRequest(),
    close: () => recorder.close(),
  };
  return fake;
}
