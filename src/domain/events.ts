/**
 * Session events (SPEC §3). Each is stored with a per-session sequence number in the same
 * transaction as the change it describes, then delivered to subscribers from there.
 */
export const SESSION_EVENT_TYPES = [
  'session.warning',
  'session.expired',
  'session.renewed',
  'session.ended',
  'message.created',
  'message.chunk',
  'message.cancelled',
] as const;

export type SessionEventType = (typeof SESSION_EVENT_TYPES)[number];

export interface SessionEvent {
  type: SessionEventType;
  sessionId: string;
  seq: number;
  /** ISO-8601 with milliseconds. */
  at: string;
  data: unknown;
}

/** An event before the store has given it its sequence number. */
export interface PendingEvent {
  type: SessionEventType;
  at: number;
  data: unknown;
}
