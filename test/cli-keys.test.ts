/**
 * `npm run keys`: a key made on the command line works against a server on the same database,
 * is listed without its secret, and stops working once revoked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { run } from '../src/cli/keys.js';
import { call } from './support/auth.js';
import { ManualClock } from './support/clock.js';
import { startServer, type TestServer } from './support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-cli-'));
const databaseUrl = join(dir, 'sessions.db');
let server: TestServer;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = await run(
    argv,
    sink((s) => (out += s)),
    sink((s) => (err += s)),
  );
  return { code, out, err };
}

before(async () => {
  process.env.DATABASE_URL = databaseUrl;
  server = await startServer({}, new ManualClock(), { dir, databaseUrl });
});
after(async () => {
  await server.close();
  delete process.env.DATABASE_URL;
  rmSync(dir, { recursive: true, force: true });
});

test('create prints the key alone on stdout; it works at once against the server', async () => {
  const created = await cli('create', '--name', 'ci', '--scopes', 'sessions:read,sessions:write');
  assert.equal(created.code, 0, created.err);
  const key = created.out.trim();
  assert.match(key, /^ask_[A-Za-z0-9_-]{43}$/);
  assert.equal(created.out, `${key}\n`);
  assert.match(created.err, /created API key [0-9a-f-]{36} "ci" scopes sessions:read,sessions:write/);
  assert.ok(!created.err.includes(key));

  assert.equal((await call(server, 'GET', '/api/messaging/sessions', { token: key })).status, 200);
  assert.equal((await call(server, 'GET', '/api/keys', { token: key })).status, 403);

  const listed = await cli('list');
  assert.equal(listed.code, 0);
  assert.match(listed.out, new RegExp(`${key.slice(0, 12)}…  ci  sessions:read,sessions:write`));
  assert.ok(!listed.out.includes(key));

  const id = /created API key (\S+)/.exec(created.err)![1]!;
  assert.equal((await cli('revoke', id)).code, 0);
  assert.equal((await call(server, 'GET', '/api/messaging/sessions', { token: key })).status, 401);
  const again = await cli('revoke', id);
  assert.equal(again.code, 1);
  assert.match(again.err, /not found/);
});

test('--expires-at, and what is refused', async () => {
  const expiring = await cli('create', '--name=temp', '--scopes=*', '--expires-at=2999-01-01T00:00:00Z');
  assert.equal(expiring.code, 0, expiring.err);
  assert.match(expiring.err, /expires 2999-01-01T00:00:00.000Z/);

  assert.equal((await cli('create', '--name', 'x', '--scopes', 'sessions:admin')).code, 1);
  assert.equal((await cli('create', '--name', 'x', '--scopes', '*', '--expires-at', '2001-01-01T00:00:00Z')).code, 1);
  assert.equal((await cli('create', '--name', 'x', '--scopes', '*', '--expires-at', 'soon')).code, 64);
  assert.equal((await cli('create', '--scopes', '*')).code, 64);
  assert.equal((await cli('create', '--name', 'x', '--scopes', '*', '--owner', 'me')).code, 64);
  assert.equal((await cli('rotate')).code, 64);
  assert.equal((await cli()).code, 64);
  assert.equal((await cli('help')).code, 0);
});
