/**
 * The API's shapes as the browser sees them. The objects (sessions, messages, events, agents)
 * are the server's own view types, imported from src/domain as types only (nothing of the
 * server is bundled). The envelopes around them are spelled out here; test/web/unit/api-types.ts
 * checks at type-check time that each one matches the route schema it mirrors, both ways.
 */
import type { AgentView } from '../../../src/domain/agent.js';
import type { SessionEvent, SessionEventType } from '../../../src/domain/events.js';
import type { MessageView } from '../../../src/domain/message.js';
import type { ReplyPolicy } from '../../../src/domain/reply-policy.js';
import type { SessionInfo, SessionStatus } from '../../../src/domain/session.js';

export type { MessageView, ReplyPolicy, SessionEvent, SessionEventType, SessionInfo, SessionStatus };

/** An agent as `GET /api/agents` lists it; a key without `agents:manage` sees fewer fields. */
export type AgentSummary = Pick<AgentView, 'id' | 'name' | 'metadata' | 'sessionDefaults'> & {
  provider: { type: string };
};

export interface AgentList {
  agents: AgentSummary[];
}

interface SessionStats {
  totalSessions: number;
  activeSessions: number;
  expiredSessions: number;
}

/** `GET /api/messaging/sessions`. `nextCursor`: the cursor paging of SPEC §12 (null on the last page). */
export interface SessionList {
  sessions: SessionInfo[];
  total: number;
  limit: number;
  offset: number;
  nextCursor: string | null;
  stats: SessionStats;
}

export interface SessionCreated extends SessionInfo {
  sessionToken: string;
}

/** `GET …/:id/messages`: newest first, cursors in epoch ms. */
export interface HistoryPage {
  messages: MessageView[];
  hasMore: boolean;
  cursors: { before: number | null; after: number | null };
}

interface AgentResponse {
  id: string;
  text: string;
  thought?: string;
  actions?: string[];
  createdAt: string;
}

/** The JSON answer of a send (a replayed `Idempotency-Key`, or `transport: "http"`). */
export interface SendMessageResponse extends MessageView {
  userMessage: MessageView;
  sessionStatus: SessionStatus;
  agentResponse?: AgentResponse;
  agentError?: { code: string; message: string };
}

/** The error envelope of every failure (SPEC §4). */
export interface ErrorEnvelope {
  success: false;
  error: { code: string; message: string; details?: string; [extra: string]: unknown };
}

/** `POST …/:id/cancel` (SPEC §10). */
export interface CancelAnswer {
  cancelled: string[];
}

/** `GET /api/messaging/search` (SPEC §12). */
export interface SearchResults {
  results: Array<{ sessionId: string; message: MessageView }>;
  nextCursor: string | null;
}
