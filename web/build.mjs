#!/usr/bin/env node
// Builds the web app into dist/web/: web/src/main.ts (TypeScript, socket.io-client included)
// bundled as one ES module, web/app.css, both under content-hashed names, and index.html
// pointing at them. The server serves the hashed files as immutable and index.html as
// no-cache (src/http/routes/web.ts), so a new build is picked up at once and nothing else is
// ever fetched again. esbuild is a regular dependency: a production install can build this.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_OUT = join(ROOT, 'dist', 'web');

/** Builds the bundle; returns the names of the files written (relative to dist/web). */
export async function buildWeb({ outdir = WEB_OUT } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [
      { in: 'web/src/main.ts', out: 'app' },
      { in: 'web/app.css', out: 'app' },
    ],
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'eof',
    metafile: true,
    outdir,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((name) => /^app-[A-Z0-9]+\.js$/.test(name));
  const style = outputs.find((name) => /^app-[A-Z0-9]+\.css$/.test(name));
  if (!script || !style) throw new Error(`web build: unexpected outputs ${outputs.join(', ')}`);
  const template = readFileSync(join(ROOT, 'web', 'index.html'), 'utf8');
  const page = template.replace('href="/app.css"', `href="/${style}"`).replace('src="/app.js"', `src="/${script}"`);
  if (!page.includes(script) || !page.includes(style)) throw new Error('web build: index.html no longer names /app.js and /app.css');
  writeFileSync(join(outdir, 'index.html'), page);
  return { script, style, files: ['index.html', script, style] };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { files } = await buildWeb();
  console.log(`web app built: ${files.map((file) => join('dist/web', file)).join(', ')}`);
}
