/**
 * Clients that behave as production clients should behind a load balancer: an SSE reader that
 * reconnects after the server's `retry:` hint and resumes with Last-Event-ID, a Socket.IO client
 * (websocket transport, reconnecting and joining again), and a sender that retries a send with
 * the same Idempotency-Key until it is acknowledged.
 */
import { randomUUID } from 'node:crypto';
import { io as connect, type Socket } from 'socket.io-client';

export const KEY = 'fleet-test-admin-key-0123456789abcdef';
export const BASE = '/api/messaging/sessions';
export const ELIZA = '00000000-0000-4000-8000-000000000001';
export const USER = '11111111-1111-4111-8111-111111111111';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape; the tests read it field by field and assert exact values
  body: any;
  ms: number;
}

/** One request; a network failure is status 0. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const started = Date.now();
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: kept as text.
    }
    return { status: res.status, body: parsed, ms: Date.now() - started };
  } catch {
    return { status: 0, body: undefined, ms: Date.now() - started };
  }
}

/** Sends until acknowledged (201), always with the same Idempotency-Key; counts the failed tries. */
export async function sendReliably(
  base: string,
  sessionId: string,
  content: string,
  deadlineMs = 60_000,
): Promise<{ id: string; failures: number }> {
  const key = randomUUID();
  const deadline = Date.now() + deadlineMs;
  let failures = 0;
  for (;;) {
    const answer = await call(base, 'POST', `${BASE}/${sessionId}/messages`, { content }, { 'idempotency-key': key });
    if (answer.status === 201) return { id: answer.body.id, failures };
    if (![0, 502, 503, 504].includes(answer.status)) throw new Error(`send answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    failures++;
    if (Date.now() > deadline) throw new Error(`send not acknowledged in ${deadlineMs} ms (last ${answer.status})`);
    await sleep(200);
  }
}

/** An EventSource-like reader: reconnects (after `retry:`), resuming with Last-Event-ID. */
export class ResumingSse {
  readonly events: Array<{ seq: number; type: string }> = [];
  connections = 0;
  private stopped = false;
  private controller: AbortController | undefined;
  private retryMs = 500;
  readonly done: Promise<void>;

  constructor(private readonly url: string) {
    this.done = this.loop();
  }

  get lastSeq(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.controller = new AbortController();
      try {
        const res = await fetch(this.url, {
          headers: { authorization: `Bearer ${KEY}`, ...(this.lastSeq > 0 ? { 'last-event-id': String(this.lastSeq) } : {}) },
          signal: this.controller.signal,
        });
        if (res.status === 200 && res.body) {
          this.connections++;
          await this.read(res.body);
        } else {
          await res.body?.cancel();
        }
      } catch {
        // Connection refused or cut: reconnect below.
      }
      if (!this.stopped) await sleep(this.retryMs);
    }
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
        }
        if (fields.retry) this.retryMs = Number(fields.retry);
        if (fields.id !== undefined && fields.event) this.events.push({ seq: Number(fields.id), type: fields.event });
      }
    }
  }

  async waitFor(seq: number, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.lastSeq < seq) {
      if (Date.now() > deadline) throw new Error(`SSE reached seq ${this.lastSeq}, expected ${seq}`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    await this.done;
  }
}

/** A Socket.IO client over websocket only (no sticky sessions needed), joining again after each reconnect. */
export class RejoiningSocket {
  readonly events: Array<{ seq: number; type: string }> = [];
  /** Connections counted at each received event: which connection delivered it. */
  readonly connectionOf: number[] = [];
  connections = 0;
  readonly socket: Socket;
  readonly joined: Promise<void>;

  constructor(base: string, sessionId: string) {
    this.socket = connect(base, {
      path: '/socket.io',
      auth: { token: KEY },
      transports: ['websocket'],
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
    });
    let firstJoin!: () => void;
    this.joined = new Promise((resolve) => (firstJoin = resolve));
    this.socket.on('connect', () => {
      // From the session's first event, and after a reconnect from the last one received
      // (SPEC §10): nothing missed, nothing twice.
      const lastSeq = this.events.at(-1)?.seq ?? 0;
      this.socket.emit('join', { sessionId, lastSeq }, (answer: { ok?: boolean }) => {
        if (answer?.ok) {
          this.connections++;
          firstJoin();
        }
      });
    });
    this.socket.onAny((name: string, payload: { seq?: number }) => {
      // Session events only; elizaOS's messageBroadcast repeats an agent's message.created.
      if (typeof payload?.seq === 'number' && name !== 'messageBroadcast') {
        this.events.push({ seq: payload.seq, type: name });
        this.connectionOf.push(this.connections);
      }
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Every stored event of the session, read on a fresh stream from the start until 1 s passes without one. */
export async function allEvents(base: string, sessionId: string): Promise<Array<{ seq: number; type: string }>> {
  const reader = new ResumingSse(`${base}${BASE}/${sessionId}/events`);
  try {
    let seen = -1;
    while (reader.events.length !== seen || reader.connections === 0) {
      seen = reader.events.length;
      await sleep(1000);
    }
    return reader.events;
  } finally {
    await reader.stop();
  }
}

/** Every message of the session, oldest first, read page by page. */
export async function history(base: string, sessionId: string): Promise<Array<{ id: string; content: string; isAgent: boolean }>> {
  const all: Array<{ id: string; content: string; isAgent: boolean; authorId: string }> = [];
  let before: string | undefined;
  for (;;) {
    const page = await call(base, 'GET', `${BASE}/${sessionId}/messages?limit=100${before ? `&before=${encodeURIComponent(before)}` : ''}`);
    if (page.status !== 200) throw new Error(`history answered ${page.status}`);
    all.push(...page.body.messages);
    if (!page.body.hasMore) break;
    before = page.body.cursors.before;
  }
  return all.reverse();
}
