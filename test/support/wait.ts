/**
 * Waiting in tests, in one place. Things that happen in another process, over a socket or in
 * Redis are polled for with `eventually` (or `poll`, which hands back what it read), bounded in
 * real time; a test never takes "nothing happened within N ms" as proof of anything. Time the
 * server reasons about (expiry, renewals) is moved with the injected clock instead.
 */
import assert from 'node:assert/strict';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface PollOptions {
  /** How long to keep trying, in real milliseconds. */
  ms?: number;
  /** The pause between two tries. */
  every?: number;
}

/**
 * Reads `read()` until `done` holds for what it returned, and returns that value; fails naming
 * `what` (and the last value read) once `ms` have passed.
 */
export async function poll<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  what: string,
  options: PollOptions = {},
): Promise<T> {
  const { ms = 5000, every = 10 } = options;
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}; last seen: ${describe(value)}`);
    await sleep(every);
  }
}

/** Waits until `check` holds, polling; fails naming `what` once `ms` have passed. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, options: PollOptions = {}): Promise<void> {
  await poll(check, (held) => held, what, options);
}

/** `promise`, or a failure naming `what` if it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 300) ?? String(value);
  } catch {
    return String(value);
  }
}
