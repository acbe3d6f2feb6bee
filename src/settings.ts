/**
 * Every setting of SPEC §8, typed and validated once at start-up. Sources, lowest first:
 * a `.env` file, the environment, command-line flags (`--port 3001` or `--port=3001` sets PORT).
 * An invalid value stops start-up with a SettingsError that names the setting.
 */
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { parse as parseDotenv } from 'dotenv';
import { existsSync, readFileSync } from 'node:fs';
import { MINUTE_MS, type TimeoutConfig } from './domain/session.js';
import type { ContentPolicy } from './domain/validation.js';

interface Bounds {
  min: number;
  max: number;
}

export interface TimeoutBounds {
  timeoutMinutes: Bounds;
  maxDurationMinutes: Bounds;
  warningThresholdMinutes: Bounds;
}

export type DatabaseSettings = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface Settings {
  port: number;
  host: string;
  database: DatabaseSettings;
  /** PostgreSQL connections per instance (DATABASE_POOL_SIZE); the embedded store has one. */
  databasePoolSize: number;
  redisUrl: string | undefined;
  contentPolicy: ContentPolicy;
  apiKey: string | undefined;
  sessionDefaults: TimeoutConfig;
  bounds: TimeoutBounds;
  retentionMs: number;
  agentTimeoutMs: number;
  agentHistoryMessages: number;
  agentsDir: string | undefined;
  rateLimits: {
    sessionPerMinute: number;
    userPerHour: number;
    agentPerHour: number;
    keyPerMinute: number;
  };
  corsOrigins: string[];
  authDisabled: boolean;
  logLevel: string;
  /** How often an idle event stream gets a comment line, so proxies keep it open. */
  sseHeartbeatMs: number;
  /** A request whose headers and body have not all arrived by then is answered 408 (SPEC §6). */
  requestTimeoutMs: number;
  /** Open event streams and Socket.IO connections per credential, together (SPEC §6). */
  maxStreamsPerCredential: number;
  /** On SIGTERM: how long running replies and requests in flight get before they are cut. */
  shutdownGraceMs: number;
  /**
   * On SIGTERM: how long the instance keeps serving while `/readyz` already says 503, so that a
   * load balancer stops routing to it before it refuses anything (its check interval × fall).
   */
  shutdownDelayMs: number;
  /** A webhook delivery attempt not answered 2xx within this is a failure (SPEC §11). */
  webhookTimeoutMs: number;
  /** How long a delivery is retried, from its event, before it is marked failed. */
  webhookMaxAgeMs: number;
  /** Refuse loopback, private, link-local and unique-local targets of outbound requests. */
  outboundDenyPrivate: boolean;
}

export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`Invalid setting ${setting}: ${problem}`);
    this.name = 'SettingsError';
  }
}

type Source = Record<string, string | undefined>;

/** `--database-url=x` → DATABASE_URL; a flag without a value is "true". */
export function flagsToSettings(argv: string[]): Source {
  const out: Source = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new SettingsError(arg, 'expected a flag such as --port 3000');
    const [rawName, inlineValue] = arg.slice(2).split(/=(.*)/s, 2);
    const name = rawName!.toUpperCase().replace(/-/g, '_');
    if (inlineValue !== undefined) out[name] = inlineValue;
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) out[name] = argv[++i];
    else out[name] = 'true';
  }
  return out;
}

function readDotenv(path: string): Source {
  return existsSync(path) ? parseDotenv(readFileSync(path)) : {};
}

class Reader {
  constructor(private readonly source: Source) {}

  string(name: string): string | undefined {
    const value = this.source[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw)) throw new SettingsError(name, `"${raw}" is not an integer`);
    const value = Number(raw);
    if (value < min || value > max) throw new SettingsError(name, `${value} is outside ${min}–${max}`);
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    throw new SettingsError(name, `"${raw}" is not a boolean (true/false)`);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T)) throw new SettingsError(name, `"${raw}" is not one of ${allowed.join(', ')}`);
    return raw as T;
  }
}

export function parseDatabaseUrl(raw: string | undefined): DatabaseSettings {
  const value = raw ?? './data/sessions.db';
  if (/^postgres(ql)?:\/\//i.test(value)) return { kind: 'postgres', url: value };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !/^(sqlite|file):/i.test(value)) {
    throw new SettingsError('DATABASE_URL', 'use a file path, a sqlite:/file: URL or a postgres:// URL');
  }
  const path = value.replace(/^(sqlite|file):(\/\/)?/i, '');
  if (path === '') throw new SettingsError('DATABASE_URL', 'the SQLite file path is empty');
  return { kind: 'sqlite', path };
}

/**
 * PostgreSQL connections per instance: enough to keep the cores busy while requests wait on the
 * database (4 per core), never fewer than 10.
 */
export const defaultPoolSize = (cores = availableParallelism()): number => Math.max(10, 4 * cores);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/** Builds the settings from explicit sources; `loadSettings` supplies the process's own. */
export function parseSettings(...sources: Source[]): Settings {
  const read = new Reader(Object.assign({}, ...sources) as Source);

  const minTimeout = read.integer('SESSION_MIN_TIMEOUT_MINUTES', 5, 1);
  const maxTimeout = read.integer('SESSION_MAX_TIMEOUT_MINUTES', 1440, 1);
  if (minTimeout > maxTimeout) {
    throw new SettingsError('SESSION_MIN_TIMEOUT_MINUTES', `${minTimeout} is above SESSION_MAX_TIMEOUT_MINUTES (${maxTimeout})`);
  }
  const durationLimit = read.integer('SESSION_MAX_DURATION_LIMIT_MINUTES', 4320, 1);
  const bounds: TimeoutBounds = {
    timeoutMinutes: { min: minTimeout, max: maxTimeout },
    maxDurationMinutes: { min: 1, max: durationLimit },
    warningThresholdMinutes: { min: 1, max: 60 },
  };
  const sessionDefaults: TimeoutConfig = {
    timeoutMinutes: read.integer('SESSION_DEFAULT_TIMEOUT_MINUTES', Math.min(Math.max(30, minTimeout), maxTimeout), minTimeout, maxTimeout),
    autoRenew: read.boolean('SESSION_DEFAULT_AUTO_RENEW', true),
    maxDurationMinutes: read.integer('SESSION_MAX_DURATION_MINUTES', Math.min(720, durationLimit), 1, durationLimit),
    warningThresholdMinutes: read.integer('SESSION_WARNING_THRESHOLD_MINUTES', 5, 1, 60),
  };

  const host = read.string('HOST') ?? '127.0.0.1';
  const authDisabled = read.boolean('AUTH_DISABLED', false);
  if (authDisabled && !isLoopback(host)) {
    throw new SettingsError('AUTH_DISABLED', `auth can be turned off only while listening on a loopback address, not ${host}`);
  }
  const redisUrl = read.string('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//i.test(redisUrl)) {
    throw new SettingsError('REDIS_URL', 'must start with redis:// or rediss://');
  }
  const corsOrigins = (read.string('CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/i.test(origin)) {
      throw new SettingsError('CORS_ORIGINS', `"${origin}" is not an origin such as https://app.example.com`);
    }
  }

  return {
    port: read.integer('PORT', 3000, 0, 65535),
    host,
    database: parseDatabaseUrl(read.string('DATABASE_URL')),
    databasePoolSize: read.integer('DATABASE_POOL_SIZE', defaultPoolSize(), 1, 1000),
    redisUrl,
    contentPolicy: read.oneOf('CONTENT_POLICY', 'standard', ['standard', 'strict'] as const),
    apiKey: read.string('SESSIONS_API_KEY'),
    sessionDefaults,
    bounds,
    retentionMs: read.integer('SESSION_RETENTION_MINUTES', 1440, 0) * MINUTE_MS,
    agentTimeoutMs: read.integer('AGENT_TIMEOUT_SECONDS', 60, 1, 3600) * 1000,
    agentHistoryMessages: read.integer('AGENT_HISTORY_MESSAGES', 20, 0, 1000),
    agentsDir: read.string('AGENTS_DIR'),
    rateLimits: {
      sessionPerMinute: read.integer('RATE_LIMIT_SESSION_PER_MINUTE', 60, 1),
      userPerHour: read.integer('RATE_LIMIT_USER_PER_HOUR', 1000, 1),
      agentPerHour: read.integer('RATE_LIMIT_AGENT_PER_HOUR', 5000, 1),
      keyPerMinute: read.integer('RATE_LIMIT_KEY_PER_MINUTE', 10_000, 1),
    },
    corsOrigins,
    authDisabled,
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    sseHeartbeatMs: read.integer('SSE_HEARTBEAT_SECONDS', 15, 1, 3600) * 1000,
    requestTimeoutMs: read.integer('REQUEST_TIMEOUT_SECONDS', 30, 1, 3600) * 1000,
    maxStreamsPerCredential: read.integer('MAX_STREAMS_PER_CREDENTIAL', 20, 1, 100_000),
    shutdownGraceMs: read.integer('SHUTDOWN_GRACE_SECONDS', 30, 0, 3600) * 1000,
    shutdownDelayMs: read.integer('SHUTDOWN_DELAY_SECONDS', 0, 0, 300) * 1000,
    webhookTimeoutMs: read.integer('WEBHOOK_TIMEOUT_SECONDS', 10, 1, 600) * 1000,
    webhookMaxAgeMs: read.integer('WEBHOOK_MAX_AGE_HOURS', 24, 1, 24 * 30) * 60 * MINUTE_MS,
    outboundDenyPrivate: read.boolean('OUTBOUND_DENY_PRIVATE', false),
  };
}

export function loadSettings(argv = process.argv.slice(2), env: Source = process.env, dotenvPath = '.env'): Settings {
  return parseSettings(readDotenv(dotenvPath), env, flagsToSettings(argv));
}
