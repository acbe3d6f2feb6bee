/**
 * What the HTTP layer is given: services (use cases) and the edge's own helpers (auth, rate
 * limits, stream counts). No route sees the store.
 */
import type { Authenticator } from '../auth/authenticator.js';
import type { CredentialWatch } from '../auth/credential-watch.js';
import type { ApiKeys } from '../auth/keys.js';
import type { Clock } from '../clock.js';
import type { WebhookService } from '../outbound/webhooks.js';
import type { EventFeed } from '../realtime/feed.js';
import type { AgentService } from '../services/agents.js';
import type { ExportService } from '../services/export.js';
import type { HealthService } from '../services/health.js';
import type { MessageService } from '../services/messaging.js';
import type { SearchService } from '../services/search.js';
import type { SessionOwners } from '../services/session-owners.js';
import type { SessionService } from '../services/sessions.js';
import type { Settings } from '../settings.js';
import type { RequestLimiter } from './rate-limit.js';
import type { StreamLimits } from './streams.js';

export interface Lifecycle {
  /** Shutting down (SIGTERM): not ready from then on, while still serving for SHUTDOWN_DELAY_SECONDS. */
  stopping: boolean;
  /** Draining: new requests refused with 503, streams ended, in-flight work finishing. */
  draining: boolean;
}

/** What the routes may use; handed to every route plugin. */
export interface Deps {
  sessions: SessionService;
  /** Sending a message and waiting for the reply (the idempotency protocol). */
  messaging: MessageService;
  agents: AgentService;
  /** Webhooks and their delivery log (SPEC §11). */
  webhooks: WebhookService;
  /** Replay after a seq, then live: what `/events` streams read (Socket.IO too). */
  feed: EventFeed;
  health: HealthService;
  search: SearchService;
  exports: ExportService;
  settings: Settings;
  clock: Clock;
  version: string;
  auth: Authenticator;
  apiKeys: ApiKeys;
  /** Rate limits (SPEC §7), applied by the auth hook. */
  limiter: RequestLimiter;
  /** sessionId → user and agent, for the rate limiter; create primes it. */
  owners: SessionOwners;
  /** Ends event streams whose credential is revoked or has expired since they opened. */
  credentialWatch: Pick<CredentialWatch, 'watch'>;
  /** Open event streams and Socket.IO connections per credential (SPEC §6). */
  streams: StreamLimits;
  /** Shared with the composition root: set once SIGTERM starts the drain. */
  lifecycle: Lifecycle;
  /** Count and time every request per route in the metrics (on unless turned off, e.g. by a benchmark). */
  requestMetrics: boolean;
  /** Log every request at debug level (off unless LOG_LEVEL is debug or trace). */
  logAccess: boolean;
}
