/**
 * An agent behind any HTTP endpoint. Each reply is one POST of the conversation; the endpoint
 * answers with JSON, or streams the reply as Server-Sent Events or NDJSON and ends it by
 * closing the response. With `secretEnv`, the body is signed so the endpoint can tell the
 * request came from this server.
 */
import { SIGNATURE_HEADER, signBody } from '../outbound/signature.js';
import type { ProviderConfig } from '../domain/agent.js';
import { toMessageView } from '../domain/message.js';
import { AgentError, type AgentProvider, type ReplyExtras, type ReplyRequest } from './provider.js';
import { abortReason, agentFailure, describeCause, isUnreachable, secretFromEnv } from './upstream.js';

export type WebhookConfig = Extract<ProviderConfig, { type: 'webhook' }>;

/** A JSON reply may not be larger than this many bytes, nor one NDJSON line or SSE frame this many characters. */
const MAX_WEBHOOK_FRAME_BYTES = 1024 * 1024;

/** The body the webhook receives (SPEC §2): Message objects as the API shows them. */
function webhookPayload(request: Pick<ReplyRequest, 'agent' | 'session' | 'history' | 'message'>) {
  const { agent, session } = request;
  return {
    agent: { id: agent.id, name: agent.name, system: agent.system },
    session: { sessionId: session.id, agentId: session.agentId, userId: session.userId, metadata: session.metadata },
    message: toMessageView(request.message),
    history: request.history.map(toMessageView),
  };
}

interface Piece {
  text?: string;
  thought?: string;
  actions?: string[];
}

/** `{text, thought?, actions?}`, each field optional here; the caller decides whether text is required. */
function parsePiece(raw: string, what: string): Piece {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw agentFailure('AGENT_FAILED', `The webhook sent ${what} that is not JSON`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw agentFailure('AGENT_FAILED', `The webhook sent ${what} that is not a JSON object`);
  }
  const { text, thought, actions } = value as Record<string, unknown>;
  if (text !== undefined && typeof text !== 'string')
    throw agentFailure('AGENT_FAILED', `The webhook sent ${what} whose text is not a string`);
  if (thought !== undefined && thought !== null && typeof thought !== 'string') {
    throw agentFailure('AGENT_FAILED', `The webhook sent ${what} whose thought is not a string`);
  }
  if (actions !== undefined && actions !== null && !(Array.isArray(actions) && actions.every((a) => typeof a === 'string'))) {
    throw agentFailure('AGENT_FAILED', `The webhook sent ${what} whose actions are not a list of strings`);
  }
  return {
    ...(text === undefined ? {} : { text }),
    ...(typeof thought === 'string' ? { thought } : {}),
    ...(Array.isArray(actions) ? { actions } : {}),
  };
}

/**
 * Splits a byte stream into lines at LF, CRLF or CR (all three end a line in SSE), decoding
 * UTF-8 across chunk boundaries. The last line is given even without a line break.
 */
export async function* lines(body: AsyncIterable<Uint8Array>, maxLineChars = MAX_WEBHOOK_FRAME_BYTES): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  const split = function* (text: string, final: boolean) {
    // A CR at the very end may be the first half of a CRLF split across chunks: wait for the next one.
    const holdCR = !final && text.endsWith('\r');
    const parts = (holdCR ? text.slice(0, -1) : text).split(/\r\n|\r|\n/);
    pending = parts.pop()! + (holdCR ? '\r' : '');
    yield* parts;
  };
  for await (const bytes of body) {
    yield* split(pending + decoder.decode(bytes, { stream: true }), false);
    if (pending.length > maxLineChars) throw agentFailure('AGENT_FAILED', `The webhook sent a line longer than ${maxLineChars} characters`);
  }
  yield* split(pending + decoder.decode(), true);
  if (pending !== '') yield pending;
}

/** The `data` of each SSE event, in order; comments and other fields are skipped. */
async function* sseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  let data: string[] = [];
  let size = 0;
  let event = 'message';
  const dispatch = () => {
    const frame = data.length === 0 ? undefined : { event, data: data.join('\n') };
    data = [];
    size = 0;
    event = 'message';
    return frame;
  };
  for await (const line of lines(body)) {
    if (line === '') {
      const frame = dispatch();
      if (frame) yield frame;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      // Many short data lines make one long frame: the limit holds for the frame.
      size += value.length + 1;
      if (size > MAX_WEBHOOK_FRAME_BYTES)
        throw agentFailure('AGENT_FAILED', `The webhook sent an event longer than ${MAX_WEBHOOK_FRAME_BYTES} characters`);
      data.push(value);
    } else if (field === 'event') {
      event = value;
    }
  }
  // A sender that closes right after its last data line still meant that frame.
  const last = dispatch();
  if (last) yield last;
}

type Format = 'json' | 'sse' | 'ndjson';

function formatOf(contentType: string | null): Format {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/event-stream') return 'sse';
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') return 'ndjson';
  return 'json';
}

async function readCapped(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for await (const bytes of body) {
    size += bytes.byteLength;
    if (size > maxBytes) throw agentFailure('AGENT_FAILED', `The webhook's reply is larger than ${maxBytes} bytes`);
    text += decoder.decode(bytes, { stream: true });
  }
  return text + decoder.decode();
}

async function readPrefix(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const bytes of body) {
    parts.push(bytes);
    size += bytes.byteLength;
    if (size >= maxBytes) break;
  }
  return Buffer.concat(parts).subarray(0, maxBytes).toString('utf8');
}

export function webhookProvider(config: WebhookConfig, fetchImpl: typeof globalThis.fetch = fetch): AgentProvider {
  return {
    async *reply(request: ReplyRequest): AsyncGenerator<string, ReplyExtras> {
      const body = JSON.stringify(webhookPayload(request));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream, application/x-ndjson',
        'user-agent': 'agent-sessions',
      };
      if (config.secretEnv !== undefined) headers[SIGNATURE_HEADER] = signBody(body, secretFromEnv(config.secretEnv, 'webhook secret'));

      let response: Response;
      try {
        // A redirect would re-send the signed conversation somewhere the operator did not name.
        response = await fetchImpl(config.url, { method: 'POST', headers, body, signal: request.signal, redirect: 'error' });
      } catch (error) {
        if (request.signal.aborted) throw abortReason(request.signal);
        const cause = new Error(describeCause(error));
        throw isUnreachable(error)
          ? agentFailure('AGENT_UNAVAILABLE', 'The webhook could not be reached', cause)
          : agentFailure('AGENT_FAILED', 'The webhook request failed', cause);
      }

      const extras: ReplyExtras = {};
      const merge = (piece: Piece) => {
        if (piece.thought !== undefined) extras.thought = piece.thought;
        if (piece.actions !== undefined) extras.actions = piece.actions;
      };
      try {
        const stream = response.body ?? emptyBody();
        if (!response.ok) {
          // The receiver's own words go to the logs only; clients get the status.
          const said = await readPrefix(stream, 1024).catch(() => '');
          throw agentFailure(
            'AGENT_FAILED',
            `The webhook answered HTTP ${response.status}`,
            new Error(`HTTP ${response.status} ${said}`.trim()),
          );
        }
        const format = formatOf(response.headers.get('content-type'));
        if (format === 'json') {
          const piece = parsePiece(await readCapped(stream, MAX_WEBHOOK_FRAME_BYTES), 'a reply');
          if (piece.text === undefined) throw agentFailure('AGENT_FAILED', 'The webhook sent a reply without text');
          merge(piece);
          yield piece.text;
        } else if (format === 'ndjson') {
          for await (const line of lines(stream)) {
            if (line.trim() === '') continue;
            const piece = parsePiece(line, 'an NDJSON line');
            merge(piece);
            if (piece.text) yield piece.text;
          }
        } else {
          for await (const frame of sseData(stream)) {
            if (frame.event === 'error')
              throw agentFailure('AGENT_FAILED', 'The webhook reported an error in its stream', new Error(frame.data));
            if (frame.event !== 'message' || frame.data.trim() === '[DONE]') continue;
            const piece = parsePiece(frame.data, 'an event');
            merge(piece);
            if (piece.text) yield piece.text;
          }
        }
      } catch (error) {
        if (request.signal.aborted) throw abortReason(request.signal);
        if (error instanceof AgentError) throw error;
        throw agentFailure(
          'AGENT_FAILED',
          'The webhook dropped the connection before the reply was complete',
          new Error(describeCause(error)),
        );
      } finally {
        // Whatever ended the reply early, the connection is not left open.
        if (response.body && !response.bodyUsed) await response.body.cancel().catch(() => {});
      }
      if (request.signal.aborted) throw abortReason(request.signal);
      return extras;
    },
  };
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}
