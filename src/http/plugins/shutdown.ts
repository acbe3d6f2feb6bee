/**
 * Graceful close (SIGTERM, a rolling restart): from the moment the drain starts, new requests
 * are answered 503 with `Connection: close` (a load balancer retries them on another
 * instance), event streams end with a `retry:` hint so clients reconnect elsewhere and resume
 * with Last-Event-ID, requests in flight get the grace period to finish, then every connection
 * is closed (a client's idle keep-alive would otherwise hold the close open).
 */
import { performance } from 'node:perf_hooks';
import { AppError } from '../../domain/errors.js';
import type { Lifecycle } from '../deps.js';
import { envelope } from '../errors.js';
import type { EventStream } from '../sse.js';
import { unencapsulated, type App } from '../types.js';

/** The `retry:` hint (ms) of event streams ended by a shutdown. */
const RECONNECT_AFTER_MS = 1000;
/** Beyond the grace period, how long the close waits for the last answers to leave. */
const CLOSE_MARGIN_MS = 2000;

export const shutdown = unencapsulated('shutdown', async (app: App, options: { lifecycle: Lifecycle; graceMs: number }) => {
  app.decorate('eventStreams', new Set<EventStream>());
  let inFlight = 0;
  app.addHook('onRequest', async (_request, reply) => {
    if (options.lifecycle.draining) {
      reply.header('connection', 'close').header('retry-after', '1');
      return reply
        .status(503)
        .send(envelope(new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down', 'Retry on another instance')));
    }
    inFlight++;
    reply.raw.once('close', () => inFlight--);
  });
  app.addHook('preClose', async () => {
    for (const stream of app.eventStreams) if (stream.resumable) stream.end(RECONNECT_AFTER_MS);
    // A duration, not an instant: measured on the monotonic clock (a wall-clock step or a test's
    // injected clock must not shorten or stretch the grace period).
    const deadline = performance.now() + options.graceMs + CLOSE_MARGIN_MS;
    while (inFlight > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const stream of app.eventStreams) stream.end();
    app.server.closeAllConnections();
  });
});
