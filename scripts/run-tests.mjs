#!/usr/bin/env node
// Runs every test file with node's test runner (TypeScript through tsx). Tests of the scaled
// mode need PostgreSQL and Redis, the web app's browser tests need Chromium; when one is
// missing, this says so and those tests skip themselves (CI sets REQUIRE_SERVICES=1, which
// turns anything missing into a failure).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { buildWeb } from '../web/build.mjs';

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

function reachable(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const env = { ...process.env };
env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
env.TEST_REDIS_URL ??= 'redis://127.0.0.1:6379';
const services = [
  ['PostgreSQL', env.TEST_DATABASE_URL, 'TEST_POSTGRES'],
  ['Redis', env.TEST_REDIS_URL, 'TEST_REDIS'],
];
for (const [name, url, flag] of services) {
  const ok = await reachable(url);
  env[flag] = ok ? '1' : '0';
  if (!ok) {
    if (env.REQUIRE_SERVICES === '1') {
      console.error(`${name} is required but not reachable at ${url}`);
      process.exit(1);
    }
    console.log(`NOTE: ${name} not reachable at ${url}: the scaled-mode tests that need it are SKIPPED.`);
  }
}
// The browser tests (test/web) drive the system's Chromium through playwright-core.
const chromiumPath = env.CHROMIUM_PATH || '/usr/bin/chromium';
env.TEST_BROWSER = existsSync(chromiumPath) ? '1' : '0';
if (env.TEST_BROWSER === '0') {
  if (env.REQUIRE_SERVICES === '1') {
    console.error(`Chromium is required but not found at ${chromiumPath}`);
    process.exit(1);
  }
  console.log(`NOTE: Chromium not found at ${chromiumPath}: the web app browser tests are SKIPPED.`);
}

// The web app's bundle (dist/web), which the server serves and the browser tests load: built
// from the current sources before every run (esbuild takes well under a second), so a fresh
// clone needs no separate build step.
await buildWeb();

// --screenshots: run the screen tests only, saving each screen to docs/screenshots/ (the images
// the README shows). Otherwise they are saved to a temporary folder.
const args = process.argv.slice(2);
if (args[0] === '--screenshots') {
  args.splice(0, 1, 'test/web/screens.test.ts');
  env.WEB_SCREENSHOTS_DIR = 'docs/screenshots';
}
const explicit = args;
const run = (files, extraEnv = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    env: { ...env, ...extraEnv },
  }).status ?? 1;

if (explicit.length > 0) process.exit(run(explicit, process.env.TEST_STORE ? { TEST_STORE: process.env.TEST_STORE } : {}));

// Pass 1, embedded mode: every suite (the store contract suite covers PostgreSQL itself).
// test/fleet is `npm run test:fleet` (its own services, HAProxy, several processes).
let status = run(
  findTests('test')
    .filter((file) => !file.startsWith(join('test', 'fleet')))
    .sort(),
);

// Pass 2, scaled mode: the real-server suites again on PostgreSQL with Redis fan-out.
const SCALED_SUITES = [
  'test/http/sessions.happy.test.ts',
  'test/http/sessions.error.test.ts',
  'test/http/messages.happy.test.ts',
  'test/http/messages.error.test.ts',
  // Generated hostile input on every route, on PostgreSQL and Redis too.
  'test/http/fuzz.error.test.ts',
  // Streams per credential, counted across instances in Redis.
  'test/http/streams.security.test.ts',
  'test/http/session-patch.test.ts',
  'test/agents/reply-control.test.ts',
  'test/http/export.test.ts',
  'test/http/list.test.ts',
  'test/http/search.test.ts',
  ...findTests('test/realtime'),
  // Webhooks: the API, deliveries to a real receiver, kill -9 and three instances.
  'test/http/webhooks.test.ts',
  ...findTests('test/outbound'),
  // The web app in Chromium against the scaled server: list, live updates, chat, scroll-back.
  ...findTests('test/web').filter((file) => !file.includes('/unit/')),
];
if (env.TEST_POSTGRES === '1' && env.TEST_REDIS === '1') {
  console.log('\n== scaled mode: the same real-server suites on PostgreSQL + Redis');
  status = run(SCALED_SUITES.sort(), { TEST_STORE: 'postgres' }) || status;
} else {
  console.log('\nNOTE: scaled-mode pass (PostgreSQL + Redis) SKIPPED: services not reachable.');
}
process.exit(status);
