/**
 * The built web app as served (src/http/routes/web.ts): public, exact content types, the strict
 * security headers on every file, content-hashed bundle names cached as immutable, index.html
 * revalidated with its ETag. No browser needed. The test runner builds dist/web first.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WEB_DIR } from '../../src/http/routes/web.js';
import { startServer, type TestServer } from '../support/server.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const IMMUTABLE = 'public, max-age=31536000, immutable';

let server: TestServer;
let script: string;
let style: string;
const built = (file: string) => readFileSync(join(WEB_DIR, file), 'utf8');

before(async () => {
  server = await startServer();
  const html = built('index.html');
  script = /<script type="module" src="\/(app-[A-Z0-9]+\.js)"><\/script>/.exec(html)?.[1] ?? '';
  style = /<link rel="stylesheet" href="\/(app-[A-Z0-9]+\.css)" ?\/?>/.exec(html)?.[1] ?? '';
});
after(() => server.close());

function assertSecurityHeaders(res: Response): void {
  assert.equal(res.headers.get('content-security-policy'), CSP);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('set-cookie'), null);
}

describe('the web app files', () => {
  test('index.html names the bundle by content hash', () => {
    assert.match(script, /^app-[A-Z0-9]{8,}\.js$/);
    assert.match(style, /^app-[A-Z0-9]{8,}\.css$/);
  });

  test('GET /: the page, no-cache, an ETag, strict headers', async () => {
    for (const path of ['/', '/index.html']) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.match(res.headers.get('etag') ?? '', /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
      assertSecurityHeaders(res);
      assert.equal(await res.text(), built('index.html'));
    }
  });

  test('the hashed script and style: exact types, cached for a year as immutable, strict headers', async () => {
    for (const [file, type] of [
      [script, 'text/javascript; charset=utf-8'],
      [style, 'text/css; charset=utf-8'],
    ] as const) {
      const res = await fetch(`${server.url}/${file}`);
      assert.equal(res.status, 200, file);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(res.headers.get('cache-control'), IMMUTABLE);
      assertSecurityHeaders(res);
      assert.equal(await res.text(), built(file));
    }
  });

  test('If-None-Match answers 304 with the same headers and no body', async () => {
    for (const path of ['/', `/${script}`, `/${style}`]) {
      const first = await fetch(server.url + path);
      const etag = first.headers.get('etag')!;
      await first.arrayBuffer();
      // As a browser revalidates. (fetch would add `Cache-Control: no-cache`, an end-to-end reload.)
      const again = await fetch(server.url + path, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } });
      assert.equal(again.status, 304, path);
      assert.equal(await again.text(), '');
      assert.equal(again.headers.get('etag'), etag);
      assertSecurityHeaders(again);
      assert.equal(again.headers.get('cache-control'), path === '/' ? 'no-cache' : IMMUTABLE);
      const stale = await fetch(server.url + path, { headers: { 'if-none-match': 'W/"stale"', 'cache-control': 'max-age=0' } });
      assert.equal(stale.status, 200);
      await stale.arrayBuffer();
    }
  });

  test('credentials are neither needed nor looked at', async () => {
    const res = await fetch(`${server.url}/`, { headers: { authorization: 'Bearer ask_not-a-key' } });
    assert.equal(res.status, 200);
  });

  test('the page loads only its own script and style, with no inline code', async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script element, no inline script');
    assert.equal((html.match(/<link rel="stylesheet"/g) ?? []).length, 1);
    assert.doesNotMatch(html, /<style|style="|\son[a-z]+=/i, 'no inline style or event handler attributes');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
  });

  test('the bundle loads nothing at run time: no import of another file, no other origin', async () => {
    const js = await (await fetch(`${server.url}/${script}`)).text();
    assert.doesNotMatch(js, /\bimport\s*\(|\bimport\s*["'{*]|from\s*["']/, 'one self-contained module');
    assert.doesNotMatch(js, /\bprocess\.env\b|\brequire\(/, 'nothing of Node left in the bundle');
    assert.match(js, /socket\.io/, 'socket.io-client is bundled');
  });

  test('other methods answer 405, other files 404, both in the error envelope', async () => {
    const post = await fetch(`${server.url}/${script}`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');
    for (const path of ['/app.js', '/app.css', '/app.ts', '/web/src/main.ts', '/src/main.ts', '/dist/web/index.html', '/../package.json']) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'NOT_FOUND', path);
    }
  });
});
