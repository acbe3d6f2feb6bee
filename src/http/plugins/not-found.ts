/** A path that exists with other methods answers 405 with `Allow`; any other path 404. */
import FindMyWay from 'find-my-way';
import { AppError } from '../../domain/errors.js';
import { recordRequest } from '../../observability/metrics.js';
import { envelope } from '../errors.js';
import { unencapsulated, type App } from '../types.js';

export const notFound = unencapsulated('not-found', async (app: App, options: { requestMetrics: boolean }) => {
  const knownPaths = FindMyWay({ ignoreTrailingSlash: true });
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    // A wildcard (Swagger UI's static files) matches every path below it: a file it lacks is
    // unknown (404), not a wrong method.
    if (route.url.includes('*')) return;
    let methods = methodsByPath.get(route.url);
    if (!methods) {
      methods = new Set();
      methodsByPath.set(route.url, methods);
      knownPaths.on('GET', route.url, () => {}, methods);
    }
    for (const method of [route.method].flat()) methods.add(method);
  });
  app.setNotFoundHandler((request, reply) => {
    // Unknown paths are counted here: they have no route, hence no per-route hook.
    if (options.requestMetrics) {
      reply.raw.once('finish', () => recordRequest(request.method, undefined, reply.statusCode, reply.elapsedTime / 1000));
    }
    const path = request.url.split('?')[0]!;
    const match = knownPaths.find('GET', path);
    if (match) {
      const allowed = [...(match.store as Set<string>)].sort().join(', ');
      void reply
        .status(405)
        .header('allow', allowed)
        .send(envelope(new AppError('METHOD_NOT_ALLOWED', `${request.method} is not allowed here`, `Allowed: ${allowed}`)));
      return;
    }
    void reply.status(404).send(envelope(new AppError('NOT_FOUND', `No route for ${request.method} ${path}`)));
  });
});
