/**
 * Request metrics per route pattern, and the access log. Each route gets its own onResponse
 * hook knowing its pattern, a plain callback (cheaper than an async hook or
 * `request.routeOptions`, which builds an object on every read). Unknown paths are counted by
 * the not-found handler.
 */
import type { onResponseHookHandler } from 'fastify';
import { recordRequest } from '../../observability/metrics.js';
import { redactUrl } from '../auth.js';
import { unencapsulated, type App } from '../types.js';

export const requestLog = unencapsulated('request-log', async (app: App, options: { requestMetrics: boolean; logAccess: boolean }) => {
  if (options.requestMetrics) {
    app.addHook('onRoute', (route) => {
      const pattern = route.url;
      const record: onResponseHookHandler = (request, reply, done) => {
        recordRequest(request.method, pattern, reply.statusCode, reply.elapsedTime / 1000);
        done();
      };
      route.onResponse = [...(route.onResponse ? [route.onResponse].flat() : []), record] as typeof route.onResponse;
    });
  }
  if (options.logAccess) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        { method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: reply.elapsedTime },
        'request',
      );
    });
  }
});
