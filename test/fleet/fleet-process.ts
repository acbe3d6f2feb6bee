/**
 * `npm run fleet` as the tests run it: scripts/fleet.mjs in a child process, its output parsed
 * for the instances' pids and ports and for "ready".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tracked } from '../support/children.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Fleet {
  child: ChildProcess;
  url: string;
  /** Instance name → its current pid and port (updated when one is started again). */
  instances: Map<string, { pid: number; port: number }>;
  output(): string;
  /** Resolves when the output has a line matching `pattern` after `from` (an offset in output()). */
  waitFor(pattern: RegExp, ms?: number, from?: number): Promise<string>;
  stop(): Promise<number | null>;
}

export async function startFleet(env: Record<string, string>, instances: number, port: number): Promise<Fleet> {
  const child = tracked(
    spawn(process.execPath, ['scripts/fleet.mjs', '--instances', String(instances), '--port', String(port)], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    endFleet,
  );
  let output = '';
  const listeners = new Set<() => void>();
  const map = new Map<string, { pid: number; port: number }>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const match of chunk.toString().matchAll(/^fleet: (app\d+) pid (\d+) port (\d+)$/gm)) {
      map.set(match[1]!, { pid: Number(match[2]), port: Number(match[3]) });
    }
    for (const listener of [...listeners]) listener();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitFor = (pattern: RegExp, ms = 60_000, from = 0) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = output.slice(from).match(pattern);
        if (match) {
          cleanup();
          resolve(match[0]);
        } else if (child.exitCode !== null) {
          cleanup();
          reject(new Error(`fleet exited (${child.exitCode}):\n${output}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${pattern}:\n${output.slice(-4000)}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const fleet: Fleet = {
    child,
    url: `http://127.0.0.1:${port}`,
    instances: map,
    output: () => output,
    waitFor,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  try {
    await waitFor(/^fleet: ready on .*$/m, 90_000);
  } catch (error) {
    // A fleet that did not come up in time is not left running.
    await endFleet(child);
    throw error;
  }
  return fleet;
}

/** How long a fleet may take to drain and stop before it is killed. */
const FLEET_STOP_MS = 30_000;

/**
 * SIGTERM, so that the fleet stops its instances and its load balancer with it (a SIGKILL would
 * leave them running); SIGKILL if it has not exited FLEET_STOP_MS later.
 */
async function endFleet(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), FLEET_STOP_MS);
  await gone;
  clearTimeout(timer);
}
