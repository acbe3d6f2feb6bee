#!/usr/bin/env node
// `npm run test:fleet`: builds (the fleet runs dist/main.js), then runs test/fleet one file at a
// time. The tests start their own PostgreSQL cluster, redis-server and HAProxy; they need the
// PostgreSQL server binaries, redis-server and haproxy installed (.ci/run installs haproxy
// through scripts/ci-extras.sh). With REQUIRE_SERVICES=1 a missing one is a failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function postgresBinaries() {
  if (process.env.PG_BIN) return [process.env.PG_BIN];
  if (!existsSync('/usr/lib/postgresql')) return [];
  return readdirSync('/usr/lib/postgresql').map((version) => join('/usr/lib/postgresql', version, 'bin'));
}

const missing = [
  ['haproxy', ['/usr/sbin/haproxy', '/usr/bin/haproxy']],
  ['redis-server', ['/usr/bin/redis-server']],
  ['PostgreSQL server binaries (initdb)', postgresBinaries().map((bin) => join(bin, 'initdb'))],
].filter(([, paths]) => !paths.some((p) => existsSync(p)));
if (missing.length > 0) {
  const names = missing.map(([name]) => name).join(', ');
  if (process.env.REQUIRE_SERVICES === '1') {
    console.error(`test:fleet needs ${names}`);
    process.exit(1);
  }
  console.log(`NOTE: ${names} not installed: the fleet tests are SKIPPED.`);
}

const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const files = readdirSync('test/fleet')
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join('test/fleet', f));
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
