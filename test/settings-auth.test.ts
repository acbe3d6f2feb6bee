/**
 * Secure by default, at start-up: AUTH_DISABLED only on loopback (the real program refuses to
 * start otherwise), and the admin key made at first start when none is configured or stored,
 * printed once on stdout and never through the logger, and not made again at the next start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { createApp } from '../src/app.js';
import { parseSettings, SettingsError } from '../src/settings.js';
import { call } from './support/auth.js';
import { killNow, tracked } from './support/children.js';
import { ADMIN_KEY, type TestServer } from './support/server.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
/** A test of the program stuck past this fails, and its processes are killed, rather than holding up the run. */
const PROCESS_TEST_MS = 120_000;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-auth-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The settings a spawned server gets, whatever the environment of the test run holds. */
function programEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(SESSIONS_API_KEY|AUTH_DISABLED|HOST|PORT|DATABASE_URL|REDIS_URL|LOG_LEVEL|AGENTS_DIR|CORS_ORIGINS)$/.test(name))
      delete env[name];
  }
  return { ...env, DATABASE_URL: join(dir, 'sessions.db'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...extra };
}

interface Running {
  url: string;
  stdout: () => string;
  stop: () => Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** SIGKILL (nothing if it is already gone): for a test that fails before `stop`. */
  kill: () => Promise<void>;
}

/** Runs `npm start`'s program (through tsx), in a folder with no .env, until it listens. */
function runProgram(env: NodeJS.ProcessEnv, cwd: string): Promise<Running> {
  const child = tracked(spawn(process.execPath, ['--import', TSX, MAIN], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    // A start that misses its deadline leaves no process behind.
    const timer = setTimeout(() => {
      reject(new Error(`no start within 20 s\n${stdout}\n${stderr}`));
      void killNow(child);
    }, 20_000);
    const check = () => {
      const match = /agent-sessions listening on (http:\/\/\S+)/.exec(stdout);
      // The admin key, when there is one, is printed after the docs line.
      if (match && /docs:.*\n/.test(stdout) && (!stdout.includes('admin key (scope *)') || /admin key: \S+\n/.test(stdout))) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        // One round trip: the program has then run past its start-up lines (and installed its
        // signal handlers, which come right after them).
        void fetch(`${match[1]}/healthz`).then(() =>
          resolve({
            url: match[1]!,
            stdout: () => stdout,
            stop: async () => {
              child.kill('SIGTERM');
              const code = await exited;
              return { code, stdout, stderr };
            },
            kill: () => killNow(child),
          }),
        );
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}\n${stdout}\n${stderr}`));
    });
  });
}

/** Enough of a TestServer for `call`. */
const at = (url: string) => ({ url }) as TestServer;

describe('AUTH_DISABLED', () => {
  test('is refused on any non-loopback HOST, by name', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.com', '192.168.1.1']) {
      assert.throws(
        () => parseSettings({ AUTH_DISABLED: 'true', HOST: host }),
        (error: unknown) => error instanceof SettingsError && error.setting === 'AUTH_DISABLED',
        host,
      );
    }
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) {
      assert.equal(parseSettings({ AUTH_DISABLED: 'true', HOST: host }).authDisabled, true, host);
    }
  });

  test('the program will not start with it on 0.0.0.0 (exit 2, the setting named)', { timeout: PROCESS_TEST_MS }, async () => {
    const dir = tempDir();
    const child = tracked(
      spawn(process.execPath, ['--import', TSX, MAIN], {
        cwd: dir,
        env: programEnv(dir, { AUTH_DISABLED: 'true', HOST: '0.0.0.0' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    // Were it to start after all, it would be killed after 20 s (and the test fail).
    const deadline = setTimeout(() => void killNow(child), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(deadline);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /AUTH_DISABLED/);
    assert.doesNotMatch(stdout, /listening/);
  });
});

describe('the first start makes an admin key', () => {
  test(
    'printed once on stdout (not in a log line), working, and not made again at the next start',
    { timeout: PROCESS_TEST_MS },
    async (t) => {
      const dir = tempDir();
      const env = programEnv(dir);
      // Each program is gone at the end of the test, whether it passed or not.
      const start = async () => {
        const running = await runProgram(env, dir);
        t.after(() => running.kill());
        return running;
      };
      const first = await start();
      const key = /admin key: (\S+)/.exec(first.stdout())?.[1];
      assert.ok(key, first.stdout());
      assert.match(key, /^ask_/);

      const keys = await call(at(first.url), 'GET', '/api/keys', { token: key });
      assert.equal(keys.status, 200, keys.text);
      assert.equal(keys.body.keys.length, 1);
      assert.equal(keys.body.keys[0].name, 'admin');
      assert.deepEqual(keys.body.keys[0].scopes, ['*']);
      assert.equal((await call(at(first.url), 'GET', '/api/messaging/sessions', { token: key, place: 'x-api-key' })).status, 200);
      assert.equal((await call(at(first.url), 'GET', '/api/messaging/sessions')).status, 401);
      const stopped = await first.stop();
      assert.equal(stopped.code, 0, stopped.stderr);

      // Exactly one occurrence, on a plain line; the JSON log lines (debug level: access lines
      // included) never carry it.
      const lines = stopped.stdout.split('\n');
      assert.equal(lines.filter((l) => l.includes(key)).length, 1);
      const logLines = lines.filter((l) => l.startsWith('{'));
      assert.ok(
        logLines.some((l) => l.includes('"request"')),
        'debug access lines were written',
      );
      assert.ok(logLines.every((l) => !l.includes(key)));
      assert.ok(!stopped.stderr.includes(key));

      const second = await start();
      const again = await second.stop();
      assert.equal(again.code, 0, again.stderr);
      assert.doesNotMatch(again.stdout, /admin key/);
      assert.ok(!again.stdout.includes(key));

      const third = await start();
      const list = await call(at(third.url), 'GET', '/api/keys', { token: key });
      assert.equal(list.status, 200, 'the first key still works after restarts');
      assert.equal(list.body.keys.length, 1, 'and it is still the only one');
      assert.equal((await third.stop()).code, 0);
    },
  );

  test('SESSIONS_API_KEY, when set, is the admin key instead: nothing made, nothing stored', async () => {
    const dir = tempDir();
    const settings = parseSettings({ DATABASE_URL: join(dir, 'sessions.db'), PORT: '0', LOG_LEVEL: 'silent', SESSIONS_API_KEY: ADMIN_KEY });
    const app = await createApp(settings, { background: false });
    try {
      assert.equal(app.generatedAdminKey, undefined);
      assert.deepEqual(await app.store.listApiKeys(), []);
      const url = await app.listen();
      assert.equal((await call(at(url), 'GET', '/api/keys', { token: ADMIN_KEY })).status, 200);
    } finally {
      await app.close();
    }
  });

  test('a database that already holds a key gets no admin key', async () => {
    const dir = tempDir();
    const settings = parseSettings({ DATABASE_URL: join(dir, 'sessions.db'), PORT: '0', LOG_LEVEL: 'silent', SESSIONS_API_KEY: ADMIN_KEY });
    const seeded = await createApp(settings, { background: false });
    await seeded.apiKeys.create({ name: 'ci', scopes: ['sessions:read'] });
    await seeded.close();
    const app = await createApp({ ...settings, apiKey: undefined }, { background: false });
    try {
      assert.equal(app.generatedAdminKey, undefined);
      assert.deepEqual(
        (await app.store.listApiKeys()).map((k) => k.name),
        ['ci'],
      );
    } finally {
      await app.close();
    }
  });
});
