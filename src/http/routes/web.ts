/**
 * The browser web app (docs/web-app.md): three static files from `web/`, read once at start-up
 * and served publicly. The page asks for an API key or a session token itself; the files carry
 * no secret. Strict headers: the page may load only its own script and style, talk only to this
 * origin, and cannot be framed.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Deps } from '../deps.js';
import type { App } from '../server.js';

/**
 * The repository's `web/` folder: three levels up from this file, both from
 * `src/http/routes/` (tsx) and from `dist/http/routes/` (compiled).
 */
export const WEB_DIR = new URL('../../../web/', import.meta.url);

export const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const FILES = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { url: '/app.css', file: 'app.css', type: 'text/css; charset=utf-8' },
] as const;

export async function webRoutes(app: App, _deps: Deps): Promise<void> {
  for (const { url, file, type } of FILES) {
    const body = await readFile(new URL(file, WEB_DIR));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    app.get(url, { config: { auth: 'public' }, schema: { hide: true } }, async (request, reply) => {
      void reply.headers(WEB_SECURITY_HEADERS).header('etag', etag);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
        return reply.status(304).send();
      }
      return reply.type(type).send(body);
    });
  }
}
