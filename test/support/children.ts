/**
 * The processes tests start (servers, fleets, helpers), never outliving their test file: a child
 * still running keeps the file's process, and so the whole run, from ending. Each starter kills
 * its child when the start misses its deadline, each test in `finally` when it fails; this is the
 * net under both, for a test that timed out in the middle of a start (before it held the child)
 * or ended some other way: after the file's last test, every child still running is killed.
 */
import type { ChildProcess } from 'node:child_process';
import { after } from 'node:test';

/** Each child still running, and how to end it. */
const running = new Map<ChildProcess, (child: ChildProcess) => Promise<void>>();

/**
 * `child`, to be ended after the file's last test if it is still running then: by `end`, SIGKILL
 * unless given (a process with children of its own may need to be asked first, so as to take
 * them with it).
 */
export function tracked<C extends ChildProcess>(child: C, end: (child: ChildProcess) => Promise<void> = killNow): C {
  if (child.exitCode === null && child.signalCode === null) {
    running.set(child, end);
    child.once('exit', () => running.delete(child));
  }
  return child;
}

/** SIGKILL to `child`, resolved once it is gone (at once if it already is). */
export function killNow(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

after(async () => {
  await Promise.all([...running].map(([child, end]) => end(child)));
});
