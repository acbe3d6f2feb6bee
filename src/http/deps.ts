import type { Replies } from '../agents/replies.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { CredentialWatch } from '../auth/credential-watch.js';
import type { ApiKeys } from '../auth/keys.js';
import type { SessionOwners } from '../services/session-owners.js';
import type { RequestLimiter } from './rate-limit.js';
import type { StreamLimits } from './streams.js';
import type { Fanout } from '../realtime/fanout.js';
import type { Clock } from '../clock.js';
import type { AgentService } from '../services/agents.js';
import type { SessionService } from '../services/sessions.js';
import type { Settings } from '../settings.js';
import type { Store } from '../store/store.js';

export interface Lifecycle {
  /** Shutting down (SIGTERM): not ready from then on, while still serving for SHUTDOWN_DELAY_SECONDS. */
  stopping: boolean;
  /** Draining: new requests refused with 503, streams ended, in-flight work finishing. */
  draining: boolean;
}

/** What the routes may use; handed to every route plugin. */
export interface Deps {
  sessions: SessionService;
  agents: AgentService;
  replies: Replies;
  fanout: Fanout;
  store: Store;
  settings: Settings;
  clock: Clock;
  startedAt: number;
  version: string;
  auth: Authenticator;
  apiKeys: ApiKeys;
  /** Rate limits (SPEC §7), applied by the auth hook. */
  limiter: RequestLimiter;
  /** sessionId → user and agent, for the rate limiter; create primes it. */
  owners: SessionOwners;
  /** Ends event streams whose credential is revoked or has expired since they opened. */
  credentials: Pick<CredentialWatch, 'watch'>;
  /** Open event streams and Socket.IO connections per credential (SPEC §6). */
  streams: StreamLimits;
  /** Shared with the composition root: set once SIGTERM starts the drain. */
  lifecycle: Lifecycle;
  /** Count and time every request per route in the metrics (on unless turned off, e.g. by a benchmark). */
  requestMetrics: boolean;
  /** Log every request at debug level (off unless LOG_LEVEL is debug or trace). */
  logAccess: boolean;
}
