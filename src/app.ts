/**
 * The composition root: opens the store, runs migrations, seeds and loads agents, wires the
 * services and builds the HTTP server. `main.ts` runs it for real; tests run it in-process with
 * their own clock and a temporary database.
 */
import { createRequire } from 'node:module';
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Server as SocketIoServer } from 'socket.io';
import { Replies } from './agents/replies.js';
import { LocalReplyRegistry, RedisReplyRegistry, type ReplyRegistry } from './agents/reply-registry.js';
import { processTurns, redisTurnLock } from './agents/turn-lock.js';
import { Authenticator } from './auth/authenticator.js';
import { ApiKeys } from './auth/keys.js';
import { systemClock, type Clock } from './clock.js';
import type { Agent } from './domain/agent.js';
import { agentFileValidator } from './http/agent-file-validator.js';
import { policiesFrom, RateLimits, redisLimiters, RequestLimiter, type LimiterFactory, type PolicyName } from './http/rate-limit.js';
import { buildServer, type App } from './http/server.js';
import { StreamLimits } from './http/streams.js';
import type { Lifecycle } from './http/deps.js';
import { AgentError } from './agents/provider.js';
import { LocalFanout, type Fanout } from './realtime/fanout.js';
import { Redis } from 'ioredis';
import { RedisFanout } from './realtime/redis-fanout.js';
import { Scheduler } from './realtime/scheduler.js';
import { CredentialWatch } from './auth/credential-watch.js';
import { attachSocketIo } from './realtime/socketio.js';
import { EventFeed } from './realtime/feed.js';
import { AgentService } from './services/agents.js';
import { ExportService } from './services/export.js';
import { HealthService } from './services/health.js';
import { MessageService } from './services/messaging.js';
import { SearchService } from './services/search.js';
import { Maintenance } from './services/maintenance.js';
import { SessionOwners } from './services/session-owners.js';
import { SessionService } from './services/sessions.js';
import type { Settings } from './settings.js';
import { openStore } from './store/open.js';
import { outboundClient } from './outbound/guard.js';
import { wakingFanout } from './outbound/wake.js';
import { DeliveryWorker, deliverySource } from './outbound/worker.js';
import { WebhookService } from './outbound/webhooks.js';
import type { Store } from './store/store.js';

const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface AppOptions {
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  /** Run the periodic purge (on by default; tests drive it with `maintenance.runOnce`). */
  background?: boolean;
  /** Rate-limit counters (in memory unless given; e.g. `redisLimiters(client)` when scaled). */
  limiterFactory?: LimiterFactory;
  /**
   * Window lengths in seconds, replacing the minute and hour of SPEC §7. For tests only:
   * rate-limiter-flexible keeps real time, so tests shorten windows instead of waiting.
   */
  rateLimitWindows?: Partial<Record<PolicyName, number>>;
  /** Per-route request metrics (on by default; the overhead benchmark turns them off to compare). */
  requestMetrics?: boolean;
}

export interface Application {
  server: App;
  store: Store;
  fanout: Fanout;
  sessions: SessionService;
  agents: AgentService;
  replies: Replies;
  scheduler: Scheduler;
  /** Webhook deliveries (tests call `tick`). */
  deliveries: DeliveryWorker;
  io: SocketIoServer;
  /** Closes event streams and sockets whose credential was revoked (tests call `recheck`). */
  credentialWatch: CredentialWatch;
  maintenance: Maintenance;
  settings: Settings;
  auth: Authenticator;
  apiKeys: ApiKeys;
  /**
   * The admin key created because none was configured or stored (first start only). The caller
   * shows it once, outside the logs; it is not kept anywhere else.
   */
  generatedAdminKey: string | undefined;
  /** Starts listening; resolves with the address. */
  listen(): Promise<string>;
  /** `stopping`: `/readyz` answers 503 (a load balancer stops routing here); `draining`: close() runs. */
  lifecycle: Lifecycle;
  /**
   * Graceful shutdown (SIGTERM): not ready and refusing new work at once, event streams ended
   * with a `retry:` hint, Socket.IO clients disconnected so they reconnect elsewhere, requests
   * in flight and running replies given SHUTDOWN_GRACE_SECONDS (replies still running then fail
   * with `agentError`), then the store closed.
   */
  close(): Promise<void>;
}

export function loggerOptions(settings: Settings): FastifyServerOptions['logger'] {
  return {
    level: settings.logLevel,
    // Credentials never reach the logs, whatever a log line happens to include.
    redact: [
      'req.headers.authorization',
      'req.headers["x-api-key"]',
      'headers.authorization',
      'headers["x-api-key"]',
      '*.apiKey',
      '*.key',
      '*.token',
      '*.sessionToken',
    ],
  };
}

export async function createApp(settings: Settings, options: AppOptions = {}): Promise<Application> {
  const clock = options.clock ?? systemClock;
  const store = openStore(settings.database, settings.databasePoolSize);
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  // Known once the HTTP server exists; a reply cannot start before that.
  let logger: FastifyBaseLogger | undefined = undefined;
  // Outbound HTTP (agents' providers, webhooks), refusing private targets when the setting says so.
  const outbound = outboundClient(settings.outboundDenyPrivate);
  const deliveries = new DeliveryWorker(deliverySource(settings.database, store), clock, {
    timeoutMs: settings.webhookTimeoutMs,
    maxAgeMs: settings.webhookMaxAgeMs,
    request: outbound.request,
    onError: (error) => logger?.error({ err: error }, 'webhook delivery failed'),
  });
  // Events this instance stores wake the delivery worker at once.
  const fanout: Fanout = wakingFanout(settings.redisUrl ? await RedisFanout.connect(settings.redisUrl) : new LocalFanout(), () =>
    deliveries.wake(),
  );
  // Scaled mode: the commands every instance shares (rate-limit counters, reply turns).
  const redis = settings.redisUrl ? new Redis(settings.redisUrl, { maxRetriesPerRequest: 2 }) : undefined;
  redis?.on('error', () => {});
  // The replies under way, fleet-wide in scaled mode (SPEC §10: busy, cancel).
  const replyRegistry: ReplyRegistry = redis
    ? new RedisReplyRegistry(redis, {
        onUnavailable: (error) => logger?.warn({ err: error }, 'Redis unreachable: replies under way are not known'),
      })
    : new LocalReplyRegistry();
  const replies = new Replies(
    store,
    fanout,
    clock,
    {
      agentTimeoutMs: settings.agentTimeoutMs,
      historyMessages: settings.agentHistoryMessages,
      ...(settings.outboundDenyPrivate ? { fetch: outbound.fetch } : {}),
    },
    redis
      ? redisTurnLock(redis, {
          onUnavailable: (error) => logger?.warn({ err: error }, 'Redis unreachable: reply turns are ordered per instance only'),
        })
      : processTurns,
    replyRegistry,
  );
  const sessions = new SessionService(
    store,
    fanout,
    clock,
    {
      sessionDefaults: settings.sessionDefaults,
      retentionMs: settings.retentionMs,
    },
    replyRegistry,
  );
  const agents = new AgentService(store, sessions, clock);
  await agents.seedBuiltIn();

  const apiKeys = new ApiKeys(store, clock);
  const generatedAdminKey = settings.authDisabled || settings.apiKey !== undefined ? undefined : await apiKeys.createFirstAdminKey();
  const owners = new SessionOwners(store);
  const auth = new Authenticator(store, {
    clock,
    disabled: settings.authDisabled,
    configuredKey: settings.apiKey,
    retentionMs: settings.retentionMs,
    onSession: (session) => owners.remember(session),
  });
  const limiter = new RequestLimiter(
    new RateLimits(
      policiesFrom(settings.rateLimits, options.rateLimitWindows),
      options.limiterFactory ?? (redis ? redisLimiters(redis) : undefined),
    ),
    owners,
  );
  // Event streams and sockets outlive the request that authenticated them.
  const credentialWatch = new CredentialWatch(auth, (error) => logger?.warn({ err: error }, 'credential check failed'));
  // Scaled mode counts a credential's streams across the fleet: instances on one database share
  // the count (the database's address, without credentials, names it in Redis).
  const streams = new StreamLimits(settings.maxStreamsPerCredential, {
    redis,
    namespace: describeStore(settings),
    onUnavailable: (error) => logger?.warn({ err: error }, 'Redis unreachable: streams are counted per instance'),
  });
  if (settings.agentsDir) await agents.loadFromDirectory(settings.agentsDir, agentFileValidator(settings.bounds));

  const lifecycle: Lifecycle = { stopping: false, draining: false };
  const feed = new EventFeed(store, fanout);
  const server = await buildServer(
    {
      lifecycle,
      sessions,
      messaging: new MessageService(sessions, replies, settings.contentPolicy),
      agents,
      webhooks: new WebhookService(store, clock),
      feed,
      health: new HealthService(store, fanout, clock),
      search: new SearchService(store, clock, settings.retentionMs),
      exports: new ExportService(store, sessions, clock),
      settings,
      clock,
      version: VERSION,
      auth,
      apiKeys,
      limiter,
      owners,
      credentialWatch,
      streams,
      logAccess: ['debug', 'trace'].includes(settings.logLevel),
      requestMetrics: options.requestMetrics !== false,
    },
    options.logger ?? loggerOptions(settings),
  );
  logger = server.log;
  const maintenance = new Maintenance(
    store,
    clock,
    settings.retentionMs,
    (error) => server.log.error({ err: error }, 'maintenance failed'),
    settings.webhookMaxAgeMs,
  );
  const scheduler = new Scheduler(store, fanout, clock, (error) => server.log.error({ err: error }, 'lifecycle scheduler failed'));
  const io = attachSocketIo(server.server, {
    sessions,
    feed,
    auth,
    limiter,
    streams,
    credentialWatch,
    corsOrigins: settings.corsOrigins,
    accepting: () => !lifecycle.draining,
  });
  if (options.background !== false) {
    maintenance.start();
    scheduler.start();
    deliveries.start();
    credentialWatch.start();
  }

  return {
    server,
    store,
    fanout,
    sessions,
    agents,
    replies,
    scheduler,
    deliveries,
    io,
    maintenance,
    credentialWatch,
    settings,
    auth,
    apiKeys,
    generatedAdminKey,
    lifecycle,
    listen: () => server.listen({ port: settings.port, host: settings.host }),
    async close() {
      lifecycle.stopping = true;
      lifecycle.draining = true;
      await scheduler.stop();
      credentialWatch.stop();
      streams.stop();
      // Closing the transports (not a server-side disconnect) makes clients reconnect by
      // themselves; new handshakes are refused while draining, so they land on another instance.
      io.engine.close();
      const grace = setTimeout(
        () => replies.stop(new AgentError('AGENT_FAILED', 'The server shut down before the agent replied')),
        settings.shutdownGraceMs,
      );
      try {
        await server.close();
        await replies.idle();
      } finally {
        clearTimeout(grace);
      }
      await maintenance.stop();
      await deliveries.stop();
      await outbound.close();
      replyRegistry.close();
      await fanout.close();
      redis?.disconnect();
      await store.close();
    },
  };
}

export function describeStore(settings: Settings): string {
  if (settings.database.kind === 'sqlite') return `SQLite ${settings.database.path}`;
  const url = new URL(settings.database.url);
  return `PostgreSQL ${url.hostname}:${url.port || 5432}${url.pathname}`;
}

export const describeAgent = (agent: Agent): string => `${agent.name} (${agent.provider.type}) ${agent.id}`;
