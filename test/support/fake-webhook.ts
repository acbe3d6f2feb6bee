/**
 * A webhook receiver for tests: real HTTP on a free port, every request recorded with its raw
 * body (so a test can check the signature itself), and the reply formats and failures of the
 * webhook provider on demand.
 */
import { startRecordingServer, type RecordedRequest } from './recording-server.js';

export type WebhookBehaviour =
  /** One JSON body, sent as is (an object is JSON-encoded). */
  | { kind: 'json'; body: unknown; contentType?: string }
  /** `text/event-stream`: each element one `data:` frame, `delayMs` apart; the response then closes. */
  | { kind: 'sse'; frames: unknown[]; delayMs?: number }
  /** `application/x-ndjson`: each element one line, `delayMs` apart; the response then closes. */
  | { kind: 'ndjson'; lines: unknown[]; delayMs?: number }
  /** Raw bytes exactly as given, each element one write, for framing edge cases. */
  | { kind: 'raw'; contentType: string; writes: Array<string | Buffer>; delayMs?: number }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Answers only after `delayMs` (JSON `{text}`). */
  | { kind: 'slow'; delayMs: number; text: string }
  /** Sends headers and `writes`, then keeps the response open. */
  | { kind: 'hang'; contentType: string; writes?: string[] }
  /** Answers JSON `{text}` once `release` resolves. */
  | { kind: 'gated'; release: Promise<void>; text: string };

type WebhookRequest = RecordedRequest;

export interface FakeWebhook {
  url: string;
  behaviour: WebhookBehaviour;
  requests: WebhookRequest[];
  nextRequest(): Promise<WebhookRequest>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const encode = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

export async function startFakeWebhook(behaviour: WebhookBehaviour = { kind: 'json', body: { text: 'ok' } }): Promise<FakeWebhook> {
  const recorder = await startRecordingServer(async (_request, res) => {
    const open = () => !res.destroyed && !res.writableEnded;
    const current = fake.behaviour;
    switch (current.kind) {
      case 'json':
        res.writeHead(200, { 'content-type': current.contentType ?? 'application/json' }).end(encode(current.body));
        return;
      case 'status':
        res.writeHead(current.status, { 'content-type': 'application/json', ...current.headers }).end('{"error":"receiver failed"}');
        return;
      case 'slow':
      case 'gated':
        await (current.kind === 'slow' ? sleep(current.delayMs) : current.release);
        if (open()) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: current.text }));
        return;
      case 'sse':
      case 'ndjson':
      case 'raw': {
        const contentType =
          current.kind === 'sse' ? 'text/event-stream' : current.kind === 'ndjson' ? 'application/x-ndjson' : current.contentType;
        const writes =
          current.kind === 'sse'
            ? current.frames.map((f) => `data: ${encode(f)}\n\n`)
            : current.kind === 'ndjson'
              ? current.lines.map((l) => `${encode(l)}\n`)
              : current.writes;
        res.writeHead(200, { 'content-type': contentType });
        for (const write of writes) {
          if (current.delayMs) await sleep(current.delayMs);
          if (!open()) return;
          res.write(write);
        }
        res.end();
        return;
      }
      case 'hang':
        res.writeHead(200, { 'content-type': current.contentType });
        for (const write of current.writes ?? []) res.write(write);
        return;
    }
  });
  const fake: FakeWebhook = {
    url: `${recorder.origin}/hook`,
    behaviour,
    requests: recorder.requests,
    nextRequest: () => recorder.nextRequest(),
    close: () => recorder.close(),
  };
  return fake;
}
