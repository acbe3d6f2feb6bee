/**
 * The browser web app (docs/web-app.md): the files `npm run build` bundles into `dist/web/`
 * (web/build.mjs), served publicly by @fastify/static. The page asks for an API key or a session
 * token itself; the files carry no secret.
 *
 * Caching: the script and style have content-hashed names (`app-<hash>.js`), so they never
 * change under a name and are cached for a year, immutable; `index.html` names them and is
 * `no-cache` with an ETag, so browsers revalidate it (304 when unchanged) and pick up a new
 * build at once. Strict headers on every file: the page may load only its own script and style,
 * talk only to this origin, and cannot be framed.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { AppError } from '../../domain/errors.js';
import type { Deps } from '../deps.js';
import type { App } from '../types.js';

/**
 * The built app: `dist/web/` at the repository's root, three levels up from this file both
 * from `src/http/routes/` (tsx) and from `dist/http/routes/` (compiled).
 */
export const WEB_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** A bundle file: its name holds the hash of its content (web/build.mjs). */
const HASHED_ASSET = /^\/app-[A-Z0-9]{8,}\.(?:js|css)$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

export async function webRoutes(app: App, _deps: Deps): Promise<void> {
  // Only routes added in this plugin: the page is public, its files get the page's headers.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, auth: 'public' };
  });
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.headers(WEB_SECURITY_HEADERS);
    const path = request.url.split('?')[0]!;
    void reply.header('cache-control', reply.statusCode < 400 && HASHED_ASSET.test(path) ? IMMUTABLE : 'no-cache');
    // The current name (RFC 9239) rather than the older application/javascript.
    if (String(reply.getHeader('content-type') ?? '').startsWith('application/javascript'))
      void reply.type('text/javascript; charset=utf-8');
    return payload;
  });

  if (!existsSync(`${WEB_DIR}index.html`)) {
    // A checkout that was never built: say how to build, instead of a bare 404.
    app.get('/', { schema: { hide: true } }, async () => {
      throw new AppError('SERVICE_UNAVAILABLE', 'The web app is not built', 'Run `npm run build` (or `npm run build:web`)');
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: WEB_DIR,
    // One route per file found at start-up, no wildcard: any other path stays the API's 404,
    // and a wrong method on a file answers 405 like every other route.
    wildcard: false,
    index: ['index.html'],
    // The headers above decide caching; ETags (and Last-Modified) make revalidation cheap.
    cacheControl: false,
    etag: true,
    lastModified: true,
    decorateReply: false,
    dotfiles: 'deny',
  });
}
