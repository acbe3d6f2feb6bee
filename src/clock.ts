/**
 * The only source of "now" in the server, so tests can drive time instead of sleeping.
 * (Durations that only feed metrics are measured with `performance.now()`, the monotonic clock:
 * they are never compared with "now" and no test needs to drive them.)
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
