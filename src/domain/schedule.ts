/**
 * When the lifecycle events fall due (SPEC §3). A session gets one `session.warning` when it
 * enters its warning window and one `session.expired` at `expiresAt`; a renewal that takes it
 * out of the window re-arms the warning. Pure: the scheduler stores what these decide.
 */
import { isExpired, warningStartsAt, type Session } from './session.js';

export interface LifecycleFlags {
  /** The warning for the current window has been emitted. */
  warned: boolean;
  /** `session.expired` has been emitted. */
  expiryEmitted: boolean;
}

export type LifecycleEventType = 'session.warning' | 'session.expired';

/**
 * The lifecycle events due at `now`, in the order to emit them. A session found already
 * expired and never warned (the server was down through both moments) gets its warning first,
 * so every client sees the same sequence whatever the downtime.
 */
export function dueLifecycleEvents(session: Session, flags: LifecycleFlags, now: number): LifecycleEventType[] {
  const due: LifecycleEventType[] = [];
  if (!flags.warned && now >= warningStartsAt(session)) due.push('session.warning');
  if (!flags.expiryEmitted && isExpired(session, now)) due.push('session.expired');
  return due;
}

/** After a change of `expiresAt`: is the session outside its warning window again? */
export const rearmsWarning = (next: Session, now: number): boolean => now < warningStartsAt(next);
