#!/usr/bin/env node
// Builds what `npm start` runs: every server module in src/ transpiled one to one into dist/
// (TypeScript types stripped, ES modules kept, source maps beside them), then the web app into
// dist/web/ (web/build.mjs). It uses esbuild alone, a regular dependency, so a production install
// (`npm ci --omit=dev`) can build and start; type-checking is `npm run typecheck`'s job (tsc).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from '../web/build.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist');

const entryPoints = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
  .map((file) => join('src', file));

rmSync(OUT, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints,
  outbase: 'src',
  outdir: OUT,
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  tsconfig: join(ROOT, 'tsconfig.json'),
  sourcemap: true,
  logLevel: 'warning',
});
const { files } = await buildWeb();
console.log(`server built: ${entryPoints.length} modules in dist/; web app: ${files.map((file) => join('dist/web', file)).join(', ')}`);
