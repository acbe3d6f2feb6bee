/**
 * More than one instance of the server on one store, as a fleet runs.
 *
 * In process: `startInstances(n)` starts test servers on one database (in the scaled pass one
 * PostgreSQL database and one Redis) with one clock. As programs: `startProcess` runs
 * `src/main.ts` in a child process, as production does, for the tests that kill it (SIGKILL,
 * SIGTERM) and start another on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AppOptions } from '../../src/app.js';
import { killNow, tracked } from './children.js';
import { ManualClock } from './clock.js';
import { freePort } from './ports.js';
import { startServer, type TestServer } from './server.js';
import { poll } from './wait.js';

export interface Instances {
  /** The first one made the store; the others joined it. */
  all: TestServer[];
  clock: ManualClock;
  /** Stops every instance (attempts in flight finish first); the store goes with the first one. Once. */
  close(): Promise<void>;
}

/** `count` instances on one store and one clock. */
export async function startInstances(
  count: number,
  env: Record<string, string> = {},
  options: Omit<AppOptions, 'clock'> = {},
): Promise<Instances> {
  const clock = new ManualClock();
  const all = [await startServer(env, clock, undefined, options)];
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      for (const instance of all.slice(1).reverse()) await instance.close({ keepData: true });
      await all[0]!.close();
    })());
  try {
    while (all.length < count) all.push(await joinInstance(all[0]!, env, options));
  } catch (error) {
    await close();
    throw error;
  }
  return { all, clock, close };
}

/** One more instance on `server`'s store and clock; close it with `{ keepData: true }`. */
export function joinInstance(
  server: TestServer,
  env: Record<string, string> = {},
  options: Omit<AppOptions, 'clock'> = {},
): Promise<TestServer> {
  return startServer(env, server.clock, server.storage, options);
}

/** Runs `fn` with `count` instances on one store, and stops them all afterwards. */
export async function withInstances<T>(
  count: number,
  env: Record<string, string>,
  fn: (instances: Instances) => Promise<T>,
  options: Omit<AppOptions, 'clock'> = {},
): Promise<T> {
  const instances = await startInstances(count, env, options);
  try {
    return await fn(instances);
  } finally {
    await instances.close();
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Settings a developer's environment might carry that would change what a server process runs. */
const INHERITED_SETTINGS =
  /^(HOST|PORT|DATABASE_URL|REDIS_URL|SESSIONS_API_KEY|LOG_LEVEL|AGENTS_DIR|AUTH_DISABLED|CONTENT_POLICY|CORS_ORIGINS|SESSION_|RATE_LIMIT_|WEBHOOK_|OUTBOUND_|SHUTDOWN_)/;

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Its stdout and stderr so far. */
  output(): string;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** SIGKILL, and wait until it is gone (nothing if it already is). */
  kill9(): Promise<void>;
}

export interface ProcessOptions {
  databaseUrl: string;
  /** SESSIONS_API_KEY. */
  key: string;
  /** More settings, over the defaults (loopback, a free port, silent logs). */
  env?: Record<string, string>;
  /** What must answer 200 before the process counts as started. */
  readyPath?: '/healthz' | '/readyz';
}

/** `node --import tsx src/main.ts` on `databaseUrl`, waited for (up to a minute: tsx compiles at start, slow on a busy machine) until `readyPath` answers 200. */
export async function startProcess(options: ProcessOptions): Promise<ServerProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!INHERITED_SETTINGS.test(name)) env[name] = value;
  Object.assign(env, {
    DATABASE_URL: options.databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    SESSIONS_API_KEY: options.key,
    ...options.env,
  });
  const child = tracked(spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running: ServerProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    kill9: () => killNow(child),
  };
  const ready = options.readyPath ?? '/healthz';
  const status = async () => {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    return fetch(running.url + ready).then(
      (res) => res.status,
      () => 0, // not listening yet
    );
  };
  try {
    await poll(status, (answer) => answer === 200, `the server process to answer ${ready}`, { ms: 60_000, every: 100 });
  } catch (error) {
    await running.kill9();
    throw error instanceof Error ? new Error(`${error.message}\n${output}`) : error;
  }
  return running;
}
