/**
 * A session's live events over `GET …/:id/events`, read with fetch and a streaming reader rather
 * than EventSource, so that the credential stays in a header and never goes in `?token=`. After a
 * disconnect it reconnects (1 s, 2 s, 4 s … up to 15 s) with `Last-Event-ID`, so nothing is
 * missed or repeated; refusals (401, 403, 404, 410) end it.
 */
import { request, sessionPath, type Credential } from '../api/client.js';
import { ApiError } from '../api/errors.js';
import type { SessionEvent } from '../api/types.js';
import { frameJson } from '../sse/parser.js';
import { readEventStream } from '../sse/read.js';

export type StreamState = 'connecting…' | 'live' | 'reconnecting…' | 'closed';

export interface EventStreamOptions {
  sessionId: string;
  credential: Credential;
  /** Resume after this event id ('' for the whole backlog). */
  lastEventId: string;
  onEvent(event: SessionEvent): void;
  /** Called with each event id as it is seen, to remember where to resume. */
  onEventId(id: string): void;
  onState(state: StreamState): void;
  /** A refusal: the stream has ended. */
  onRefused(error: ApiError): void;
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15_000;

export class SessionEventStream {
  private readonly controller = new AbortController();

  constructor(private readonly options: EventStreamOptions) {
    void this.run();
  }

  close(): void {
    this.controller.abort();
  }

  private async run(): Promise<void> {
    const { signal } = this.controller;
    const o = this.options;
    let lastEventId = o.lastEventId;
    let delay = FIRST_DELAY_MS;
    while (!signal.aborted) {
      o.onState(lastEventId ? 'reconnecting…' : 'connecting…');
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (lastEventId) headers['last-event-id'] = lastEventId;
        const response = await request('GET', sessionPath(o.sessionId, '/events'), { credential: o.credential, headers, signal });
        o.onState('live');
        await readEventStream(response, (frame) => {
          if (signal.aborted) return;
          delay = FIRST_DELAY_MS;
          if (frame.id) {
            lastEventId = frame.id;
            o.onEventId(frame.id);
          }
          const event = frameJson(frame) as SessionEvent | undefined;
          if (event && typeof event === 'object' && typeof event.type === 'string') o.onEvent(event);
        });
      } catch (error) {
        if (signal.aborted) return;
        // Refusals are final; outages and rate limits (429) are retried.
        if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
          o.onState('closed');
          o.onRefused(error);
          return;
        }
      }
      if (signal.aborted) return;
      o.onState('reconnecting…');
      await pause(delay, signal);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        window.clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
