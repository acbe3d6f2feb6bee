/**
 * Session lifecycle rules (SPEC §3) as pure functions: each takes the stored session and `now`
 * (epoch milliseconds) and returns new data. No I/O, no clock of its own.
 */
import { AppError, sessionExpired, validationError } from './errors.js';
import type { JsonObject } from './json.js';
import { DEFAULT_REPLY_POLICY, type ReplyPolicy } from './reply-policy.js';
import { isoInstant } from './instant.js';

export const MINUTE_MS = 60_000;

export interface TimeoutConfig {
  timeoutMinutes: number;
  autoRenew: boolean;
  maxDurationMinutes: number;
  warningThresholdMinutes: number;
}

export type TimeoutConfigPatch = Partial<TimeoutConfig>;

export interface Session {
  id: string;
  channelId: string;
  agentId: string;
  userId: string;
  metadata: JsonObject;
  config: TimeoutConfig;
  /** What a send does while a reply is under way (SPEC §10). */
  replyPolicy: ReplyPolicy;
  createdAt: number;
  lastActivity: number;
  /** The moment the inactivity timeout counts from; creation is the first renewal. */
  lastRenewal: number;
  expiresAt: number;
  renewalCount: number;
  /** `createdAt` of the session's newest message, so the next one can be strictly later. */
  lastMessageAt: number | null;
}

/** The SessionInfo object of SPEC §2. */
export interface SessionInfo {
  sessionId: string;
  channelId: string;
  agentId: string;
  userId: string;
  status: 'active' | 'expired';
  createdAt: string;
  lastActivity: string;
  expiresAt: string;
  timeoutConfig: TimeoutConfig;
  renewalCount: number;
  timeRemaining: number;
  isNearExpiration: boolean;
  metadata: JsonObject;
  replyPolicy: ReplyPolicy;
}

export interface SessionStatus {
  expiresAt: string;
  renewalCount: number;
  wasRenewed: boolean;
  isNearExpiration: boolean;
}

/** Merges the configuration tiers, lowest first: global defaults, agent defaults, request. */
export function resolveTimeoutConfig(defaults: TimeoutConfig, ...tiers: Array<TimeoutConfigPatch | undefined>): TimeoutConfig {
  const config = { ...defaults };
  for (const tier of tiers) {
    if (!tier) continue;
    if (tier.timeoutMinutes !== undefined) config.timeoutMinutes = tier.timeoutMinutes;
    if (tier.autoRenew !== undefined) config.autoRenew = tier.autoRenew;
    if (tier.maxDurationMinutes !== undefined) config.maxDurationMinutes = tier.maxDurationMinutes;
    if (tier.warningThresholdMinutes !== undefined) {
      config.warningThresholdMinutes = tier.warningThresholdMinutes;
    }
  }
  return config;
}

/** `expiresAt = min(lastRenewal + timeout, createdAt + maxDuration)`. */
export function computeExpiresAt(createdAt: number, lastRenewal: number, config: TimeoutConfig): number {
  return Math.min(lastRenewal + config.timeoutMinutes * MINUTE_MS, createdAt + config.maxDurationMinutes * MINUTE_MS);
}

export type NewSessionInput = Pick<Session, 'id' | 'channelId' | 'agentId' | 'userId' | 'metadata' | 'config'> &
  Partial<Pick<Session, 'replyPolicy'>>;

export function createSession(input: NewSessionInput, now: number): Session {
  return {
    ...input,
    replyPolicy: input.replyPolicy ?? DEFAULT_REPLY_POLICY,
    createdAt: now,
    lastActivity: now,
    lastRenewal: now,
    expiresAt: computeExpiresAt(now, now, input.config),
    renewalCount: 0,
    lastMessageAt: null,
  };
}

export const isExpired = (session: Session, now: number): boolean => now >= session.expiresAt;

export const timeRemaining = (session: Session, now: number): number => Math.max(0, session.expiresAt - now);

/** The instant the session enters its warning window. */
export const warningStartsAt = (session: Session): number => session.expiresAt - session.config.warningThresholdMinutes * MINUTE_MS;

export function isNearExpiration(session: Session, now: number): boolean {
  const remaining = timeRemaining(session, now);
  return remaining > 0 && remaining <= session.config.warningThresholdMinutes * MINUTE_MS;
}

/** Expired sessions are kept for the retention period, then they are gone (404). */
export const isPastRetention = (session: Session, now: number, retentionMs: number): boolean => now >= session.expiresAt + retentionMs;

/** Throws 410 when the session has expired; every operation but DELETE and list calls this. */
export function assertActive(session: Session, now: number): void {
  if (isExpired(session, now)) throw sessionExpired(session.id, session.expiresAt);
}

export interface RenewalResult {
  session: Session;
  wasRenewed: boolean;
}

/**
 * A renewal that cannot move `expiresAt` because of the max-duration cap is not a renewal.
 * Only the cap refuses: activity in the same millisecond as the last renewal still counts (the
 * client did renew), and a clock behind `lastRenewal` (another instance) must not shorten it.
 */
function tryRenew(session: Session, now: number): RenewalResult {
  const cap = session.createdAt + session.config.maxDurationMinutes * MINUTE_MS;
  const expiresAt = computeExpiresAt(session.createdAt, now, session.config);
  if (session.expiresAt >= cap || expiresAt < session.expiresAt) return { session, wasRenewed: false };
  return {
    session: { ...session, lastRenewal: now, expiresAt, renewalCount: session.renewalCount + 1 },
    wasRenewed: true,
  };
}

/** Activity (a message or a heartbeat): sets lastActivity, renews when autoRenew is on. */
export function recordActivity(session: Session, now: number): RenewalResult {
  assertActive(session, now);
  const touched = { ...session, lastActivity: now };
  return touched.config.autoRenew ? tryRenew(touched, now) : { session: touched, wasRenewed: false };
}

/** Manual renewal renews whatever autoRenew says; at the cap it fails and changes nothing. */
export function renewManually(session: Session, now: number): Session {
  assertActive(session, now);
  const result = tryRenew({ ...session, lastActivity: now }, now);
  if (!result.wasRenewed) {
    throw new AppError(
      'SESSION_RENEWAL_FAILED',
      'Session cannot be renewed: maximum duration reached',
      `maxDurationMinutes is ${session.config.maxDurationMinutes}`,
      { sessionId: session.id, expiresAt: isoInstant(session.expiresAt) },
    );
  }
  return result.session;
}

/**
 * PATCH timeout: keeps every field it is not given and recomputes expiresAt from the stored
 * lastRenewal. A change that would leave the session already expired is refused.
 */
export function applyTimeoutPatch(session: Session, patch: TimeoutConfigPatch, now: number): Session {
  assertActive(session, now);
  const config = resolveTimeoutConfig(session.config, patch);
  const expiresAt = computeExpiresAt(session.createdAt, session.lastRenewal, config);
  if (expiresAt <= now) {
    // Name the field at fault: the cap, or the inactivity timeout (the one the patch gave, if both).
    const byCap = session.createdAt + config.maxDurationMinutes * MINUTE_MS <= now;
    const byTimeout = session.lastRenewal + config.timeoutMinutes * MINUTE_MS <= now;
    const field = byCap && (!byTimeout || patch.maxDurationMinutes !== undefined) ? 'maxDurationMinutes' : 'timeoutMinutes';
    throw validationError(
      `${field}: the new configuration would expire the session immediately`,
      'Timeout change would expire the session',
    );
  }
  return { ...session, config, expiresAt };
}

/** `createdAt` for the session's next message: strictly after the previous one. */
export function nextMessageTime(session: Session, now: number): number {
  return session.lastMessageAt === null ? now : Math.max(now, session.lastMessageAt + 1);
}

const iso = isoInstant;

export function toSessionInfo(session: Session, now: number): SessionInfo {
  return {
    sessionId: session.id,
    channelId: session.channelId,
    agentId: session.agentId,
    userId: session.userId,
    status: isExpired(session, now) ? 'expired' : 'active',
    createdAt: iso(session.createdAt),
    lastActivity: iso(session.lastActivity),
    expiresAt: iso(session.expiresAt),
    timeoutConfig: session.config,
    renewalCount: session.renewalCount,
    timeRemaining: timeRemaining(session, now),
    isNearExpiration: isNearExpiration(session, now),
    metadata: session.metadata,
    replyPolicy: session.replyPolicy,
  };
}

export function toSessionStatus(session: Session, wasRenewed: boolean, now: number): SessionStatus {
  return {
    expiresAt: iso(session.expiresAt),
    renewalCount: session.renewalCount,
    wasRenewed,
    isNearExpiration: isNearExpiration(session, now),
  };
}

/** PATCH `/sessions/:id` (SPEC §10): metadata replaced whole, reply policy set; not activity. */
export interface SessionSettingsPatch {
  metadata?: JsonObject;
  replyPolicy?: ReplyPolicy;
}

export function applySettingsPatch(session: Session, patch: SessionSettingsPatch, now: number): Session {
  assertActive(session, now);
  return {
    ...session,
    ...(patch.metadata === undefined ? {} : { metadata: patch.metadata }),
    ...(patch.replyPolicy === undefined ? {} : { replyPolicy: patch.replyPolicy }),
  };
}
