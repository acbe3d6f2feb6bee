/**
 * GET /, /app.js, /app.css: public, exact content types, the strict security headers, an ETag
 * honoured by If-None-Match. No browser needed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from '../support/server.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const FILES = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { path: '/app.css', file: 'app.css', type: 'text/css; charset=utf-8' },
];

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

describe('the web app files', () => {
  for (const { path, file, type } of FILES) {
    test(`GET ${path}: public, ${type}, strict headers, the file as it is on disk`, async () => {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(res.headers.get('content-security-policy'), CSP);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.equal(res.headers.get('set-cookie'), null);
      assert.equal(await res.text(), readFileSync(new URL(`../../web/${file}`, import.meta.url), 'utf8'));
    });
  }

  test('an ETag per file; If-None-Match answers 304 with the same headers and no body', async () => {
    const tags = new Set<string>();
    for (const { path } of FILES) {
      const first = await fetch(server.url + path);
      const etag = first.headers.get('etag');
      assert.match(etag ?? '', /^"[A-Za-z0-9_-]{27}"$/);
      tags.add(etag!);
      const again = await fetch(server.url + path, { headers: { 'if-none-match': etag! } });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), '');
      assert.equal(again.headers.get('content-security-policy'), CSP);
      assert.equal(again.headers.get('etag'), etag);
      const stale = await fetch(server.url + path, { headers: { 'if-none-match': '"stale"' } });
      assert.equal(stale.status, 200);
    }
    assert.equal(tags.size, FILES.length);
  });

  test('credentials are neither needed nor looked at', async () => {
    const res = await fetch(`${server.url}/`, { headers: { authorization: 'Bearer ask_not-a-key' } });
    assert.equal(res.status, 200);
  });

  test('the page loads only its own script and style, with no inline code', async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    assert.match(html, /<script type="module" src="\/app\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="\/app\.css">/);
    assert.equal((html.match(/<script/g) ?? []).length, 1, 'one script element, no inline script');
    assert.doesNotMatch(html, /<style|style="|\son[a-z]+=/i, 'no inline style or event handler attributes');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
  });

  test('other methods answer 405, other files 404', async () => {
    const post = await fetch(`${server.url}/app.js`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal((await fetch(`${server.url}/app.ts`)).status, 404);
    assert.equal((await fetch(`${server.url}/web/app.js`)).status, 404);
  });
});
