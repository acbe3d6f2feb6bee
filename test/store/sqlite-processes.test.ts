/**
 * Several processes on one SQLite file: two first starts on a new file at the same moment both
 * come up, with the schema, the built-in agent and the first admin key made once between them
 * (each migration runs in one `begin immediate` transaction that the other process waits for).
 * Processes, not two applications in this process: better-sqlite3 waits for a lock
 * synchronously, so two connections in one thread would only wait for each other.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { tracked } from '../support/children.js';

const CHILD = new URL('../support/first-start-child.ts', import.meta.url).pathname;

interface Child {
  ready: Promise<void>;
  go(): void;
  result: Promise<string>;
}

function firstStart(path: string): Child {
  const child = tracked(spawn(process.execPath, ['--import', 'tsx', CHILD, path], { stdio: ['pipe', 'pipe', 'inherit'] }));
  let out = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<string>((resolve) => {
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes('ready\n')) onReady();
    });
    child.on('exit', () => resolve(out.replace('ready\n', '').trim()));
  });
  return { ready, go: () => child.stdin.end('go\n'), result };
}

// A child stuck past the timeout is killed after the test (support/children.ts).
test(
  'first starts of two processes on one new file: both come up; schema, agent and admin key made once',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-race-'));
    try {
      // Several files, two processes each: without the transaction, most pairs collide.
      const files = [1, 2, 3].map((i) => join(dir, `race-${i}.db`));
      const children = files.flatMap((file) => [firstStart(file), firstStart(file)]);
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      const results = await Promise.all(children.map((c) => c.result));
      for (const [i, file] of files.entries()) {
        const pair = results.slice(2 * i, 2 * i + 2);
        assert.ok(
          pair.every((r) => r.startsWith('{')),
          `both started: ${pair.join(' / ')}`,
        );
        const generated = pair.map((r) => JSON.parse(r).generatedKey as boolean);
        assert.deepEqual(generated.filter(Boolean), [true], 'exactly one of them made the admin key');

        const db = new BetterSqlite3(file, { readonly: true });
        const migrations = db.prepare('select name from kysely_migration order by name').all() as Array<{ name: string }>;
        const keys = db.prepare('select count(*) as n from api_keys').get() as { n: number };
        const agents = db.prepare('select count(*) as n from agents').get() as { n: number };
        db.close();
        assert.deepEqual(
          migrations.map((m) => m.name),
          Object.keys(await migrationProvider.getMigrations()).sort(),
        );
        assert.equal(keys.n, 1);
        assert.equal(agents.n, 1, 'the built-in agent, once');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
