/** Server-Sent Events framing over a hijacked Fastify reply. */
import type { FastifyReply } from 'fastify';

export interface EventStream {
  send(event: string, data: unknown, id?: number): void;
  /** A comment line: keeps proxies from closing an idle stream. */
  comment(text: string): void;
  /** Ends the stream; with `retryMs`, first tells the client how soon to reconnect (`retry:`). */
  end(retryMs?: number): void;
  readonly closed: boolean;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /**
   * A client can resume it elsewhere (an `/events` stream, with Last-Event-ID): a shutdown ends
   * it at once. Otherwise (a send's reply stream) it is work in flight, given the grace period.
   */
  readonly resumable: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Open event streams, ended when the server closes (they would otherwise hold it open). */
    eventStreams: Set<EventStream>;
  }
}

export function openEventStream(reply: FastifyReply, status = 200, resumable = false): EventStream {
  reply.hijack();
  const res = reply.raw;
  const gone = new AbortController();
  const open = reply.server.eventStreams;
  res.on('close', () => {
    gone.abort();
    open.delete(stream);
  });
  res.writeHead(status, {
    // Headers set by hooks before the hijack (CORS, rate limits) still apply.
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  const write = (text: string) => {
    if (!res.writableEnded && !res.destroyed) res.write(text);
  };
  const stream: EventStream = {
    send(event, data, id) {
      write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    comment(text) {
      write(`: ${text}\n\n`);
    },
    end(retryMs) {
      if (retryMs !== undefined) write(`retry: ${Math.round(retryMs)}\n\n`);
      if (!res.writableEnded) res.end();
    },
    get closed() {
      return res.writableEnded || res.destroyed;
    },
    signal: gone.signal,
    resumable,
  };
  open.add(stream);
  return stream;
}
