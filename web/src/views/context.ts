/** What the views share: credentials, the error area, navigation, the server's clock, agents. */
import type { AgentDirectory } from '../agents.js';
import type { Credential } from '../api/client.js';
import type { SessionInfo } from '../api/types.js';
import type { ServerClock } from '../time/server-clock.js';

export type ViewName = 'credentials' | 'sessions' | 'new-session' | 'chat';

/** The session a chat view shows, and the credential it uses for it. */
export interface ChatTarget {
  sessionId: string;
  /** The session's own token when known (it can do nothing else); else the API key. */
  credential: Credential;
  /** SessionInfo already in hand (just created), saving a first read. */
  info?: SessionInfo;
}

export interface AppContext {
  readonly clock: ServerClock;
  readonly agents: AgentDirectory;
  /** The API key of this tab, or null. */
  apiKey(): Credential | null;
  show(view: ViewName): void;
  openChat(target: ChatTarget): void;
  showError(error: unknown): void;
  clearError(): void;
  /** What an API failure means for the page (a refused key asks again); the error is shown. */
  failed(error: unknown): void;
}
