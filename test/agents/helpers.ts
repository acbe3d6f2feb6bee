/** Helpers shared by the agent provider tests. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loggerOptions } from '../../src/app.js';
import { registry } from '../../src/observability/metrics.js';
import { parseSettings } from '../../src/settings.js';
import type { AgentView } from '../../src/domain/agent.js';
import type { MessageView } from '../../src/domain/message.js';
import { ADMIN_KEY, startServer, USER, type CreatedSession, type TestServer } from '../support/server.js';
import type { SseFrame } from '../support/sse-client.js';

export const sessionPath = (sessionId: string, rest = '') => `/api/messaging/sessions/${sessionId}${rest}`;

export async function createAgent(
  server: TestServer,
  provider: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<AgentJson> {
  const res = await server.request('POST', '/api/agents', {
    body: { name: 'Test agent', system: 'You are a test agent.', provider, ...extra },
  });
  assert.equal(res.status, 201, res.text);
  return res.body as AgentJson;
}

export async function sessionWith(server: TestServer, agentId: string, metadata: Record<string, unknown> = {}): Promise<CreatedSession> {
  const res = await server.request('POST', '/api/messaging/sessions', { body: { agentId, userId: USER, metadata } });
  assert.equal(res.status, 201, res.text);
  return res.body as CreatedSession;
}

/** An http-transport send's answer: the user message with `agentResponse` or `agentError` (not typed: tests read either). */
export async function sendHttp(server: TestServer, sessionId: string, content: string) {
  const res = await server.request('POST', sessionPath(sessionId, '/messages'), { body: { content, transport: 'http' } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

/** Oldest first, as the provider sees them. */
export async function historyOf(server: TestServer, sessionId: string): Promise<MessageView[]> {
  const res = await server.request('GET', sessionPath(sessionId, '/messages?limit=100'));
  assert.equal(res.status, 200, res.text);
  return [...(res.body as { messages: MessageView[] }).messages].reverse();
}

export type SseEvent = Pick<SseFrame, 'event' | 'data'>;

/** An agent as the API shows it (dates as ISO strings). */
export type AgentJson = Omit<AgentView, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

/**
 * Sends a message with transport `sse` and reads the event stream. `disconnectAfter` closes the
 * connection as soon as that many `chunk` events have arrived.
 */
export async function sendSse(
  server: TestServer,
  sessionId: string,
  content: string,
  options: { disconnectAfter?: number } = {},
): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const controller = new AbortController();
  const res = await fetch(server.url + sessionPath(sessionId, '/messages'), {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content, transport: 'sse' }),
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  let chunks = 0;
  try {
    for await (const bytes of res.body!) {
      buffer += decoder.decode(bytes, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        events.push({ event, data: JSON.parse(data.join('\n')) });
        if (event === 'chunk' && options.disconnectAfter !== undefined && ++chunks >= options.disconnectAfter) {
          controller.abort();
          return { status: res.status, contentType: res.headers.get('content-type'), events };
        }
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), events };
}

/** The value of a labelled series of one of the agent metrics. */
export async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} is registered`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return match?.value ?? 0;
}

/** Every byte the server wrote to its data folder (SQLite file, WAL, …) as one string. */
export function dataFolderText(server: TestServer): string {
  return readdirSync(server.dir)
    .map((name) => readFileSync(join(server.dir, name)).toString('latin1'))
    .join('\n');
}

export interface LoggedServer extends TestServer {
  /** The log lines written so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  logText(): string;
}

/** Like startServer, with the server's real logger (redaction included) writing into `logs`. */
export async function startLoggedServer(env: Record<string, string> = {}): Promise<LoggedServer> {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const base = loggerOptions(parseSettings({ LOG_LEVEL: 'info' })) as Record<string, unknown>;
  const server = await startServer({ LOG_LEVEL: 'info', ...env }, undefined, undefined, { logger: { ...base, stream } as never });
  return Object.assign(server, {
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    logText: () => lines.join('\n'),
  });
}
