/**
 * One row of the session list and how live events change it. Pure: the view keeps the rows and
 * renders them; time left is computed from `expiresAt` and the server's clock at each tick.
 */
import type { SessionEvent, SessionInfo } from '../api/types.js';

export interface SessionRow {
  info: SessionInfo;
  /** Server time (epoch ms) of what `info` says; an older event does not overwrite it. */
  infoAt: number;
  /** Ended (deleted) since the list was read. */
  ended: boolean;
}

export function rowOf(info: SessionInfo, serverNow: number): SessionRow {
  return { info, infoAt: serverNow, ended: false };
}

const LIFECYCLE = new Set(['session.warning', 'session.renewed', 'session.expired']);

/** The row after `event`; the same object when the event changes nothing shown. */
export function applyEvent(row: SessionRow, event: SessionEvent): SessionRow {
  if (event.sessionId !== row.info.sessionId || row.ended) return row;
  const at = Date.parse(event.at);
  if (event.type === 'session.ended') return { ...row, ended: true, infoAt: Number.isFinite(at) ? at : row.infoAt };
  if (LIFECYCLE.has(event.type)) {
    const info = event.data as SessionInfo | undefined;
    if (!info || typeof info.expiresAt !== 'string' || (Number.isFinite(at) && at < row.infoAt)) return row;
    return { ...row, info: { ...row.info, ...info }, infoAt: Number.isFinite(at) ? at : row.infoAt };
  }
  if (event.type === 'message.created') {
    // Sending a message is activity (SPEC §3); an agent's reply is not.
    const message = (event.data as { message?: { isAgent?: boolean; createdAt?: string } } | undefined)?.message;
    if (!message || message.isAgent || typeof message.createdAt !== 'string') return row;
    if (Date.parse(message.createdAt) <= Date.parse(row.info.lastActivity)) return row;
    return { ...row, info: { ...row.info, lastActivity: message.createdAt } };
  }
  return row;
}

export type RowState = 'active' | 'expiring' | 'expired' | 'ended';

/** What the row's status column says at `serverNow`. */
export function rowState(row: SessionRow, serverNow: number): RowState {
  if (row.ended) return 'ended';
  if (row.info.status === 'expired') return 'expired';
  const left = timeLeft(row, serverNow);
  if (left <= 0) return 'expired';
  return left <= row.info.timeoutConfig.warningThresholdMinutes * 60_000 ? 'expiring' : 'active';
}

/** Milliseconds left at `serverNow`, never negative. */
export function timeLeft(row: SessionRow, serverNow: number): number {
  return Math.max(0, Date.parse(row.info.expiresAt) - serverNow);
}
