/**
 * What a send does while the session is busy (SPEC §10). A session is busy while an agent reply
 * for it is running or waiting to run; its `replyPolicy` (or the send's own `ifBusy`) decides
 * whether the new message waits its turn, is refused, or replaces the replies under way. Pure.
 */
import { AppError } from './errors.js';

export const REPLY_POLICIES = ['enqueue', 'reject', 'interrupt'] as const;
export type ReplyPolicy = (typeof REPLY_POLICIES)[number];

export const DEFAULT_REPLY_POLICY: ReplyPolicy = 'enqueue';

/**
 * - `store`: store the message and queue its reply.
 * - `cancel-then-store`: cancel the replies under way (as `cancel` does), then store.
 * - `refuse`: 409 REPLY_IN_PROGRESS; nothing is stored and nothing renewed.
 */
export type SendDecision = 'store' | 'cancel-then-store' | 'refuse';

/** The policy that applies to one send: its own `ifBusy` wins over the session's. */
export const effectivePolicy = (sessionPolicy: ReplyPolicy, ifBusy: ReplyPolicy | undefined): ReplyPolicy => ifBusy ?? sessionPolicy;

export function decideSend(policy: ReplyPolicy, busy: boolean): SendDecision {
  if (!busy) return 'store';
  switch (policy) {
    case 'enqueue':
      return 'store';
    case 'reject':
      return 'refuse';
    case 'interrupt':
      return 'cancel-then-store';
  }
}

export const replyInProgress = (sessionId: string, pending: number): AppError =>
  new AppError('REPLY_IN_PROGRESS', 'The agent is still replying in this session', 'replyPolicy is reject', { sessionId, pending });
