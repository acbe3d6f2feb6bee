/**
 * Who is calling (authenticate) and may they do this (authorize). Used by the HTTP hook and by
 * the Socket.IO handshake and `join`, so both transports apply exactly the same rules.
 */
import type { Clock } from '../clock.js';
import { AppError } from '../domain/errors.js';
import { isPastRetention, type Session } from '../domain/session.js';
import type { Store } from '../store/store.js';
import { digestsEqual, hashSecret, isSessionToken } from './credentials.js';
import { ANY_KEY, grants, SESSION_TOKEN_SCOPES, type Requirement, type Scope } from './scopes.js';

export type Principal =
  | { kind: 'key'; keyId: string; scopes: readonly Scope[]; /** ms, or null for never */ expiresAt: number | null }
  | { kind: 'session'; sessionId: string }
  /** AUTH_DISABLED: everything is allowed. */
  | { kind: 'open' };

/** The id the key given by SESSIONS_API_KEY goes by (it has no row in the store). */
export const CONFIGURED_KEY_ID = 'SESSIONS_API_KEY';

/** `lastUsedAt` is written at most this often per key, so busy keys do not cost a write each. */
const TOUCH_INTERVAL_MS = 60_000;
const TOUCHED_MAX = 10_000;

export interface AuthenticatorOptions {
  clock: Clock;
  disabled: boolean;
  /** SESSIONS_API_KEY, which has every scope. */
  configuredKey?: string;
  retentionMs: number;
  /** Told about every session a token was checked against (the rate limiter's owner cache). */
  onSession?: (session: Session) => void;
}

export const unauthorized = (message = 'Missing or invalid credentials'): AppError => new AppError('UNAUTHORIZED', message);
export const forbidden = (message = 'These credentials do not allow this'): AppError => new AppError('FORBIDDEN', message);

/** A store that cannot answer is the server's trouble (503), not a verdict on the credential. */
async function reachable<T>(lookup: Promise<T>): Promise<T> {
  try {
    return await lookup;
  } catch {
    throw new AppError('SERVICE_UNAVAILABLE', 'Credentials cannot be checked right now');
  }
}

export class Authenticator {
  private readonly configuredKeyHash: string | undefined;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly options: AuthenticatorOptions,
  ) {
    this.configuredKeyHash = options.configuredKey === undefined ? undefined : hashSecret(options.configuredKey);
  }

  /** Throws UNAUTHORIZED unless `token` is a live API key or the token of an existing session. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (this.options.disabled) return { kind: 'open' };
    if (token === undefined || token === '') throw unauthorized('Credentials are required');
    const digest = hashSecret(token);
    const now = this.options.clock.now();

    if (isSessionToken(token)) {
      const session = await reachable(this.store.getSessionByTokenHash(digest));
      // Past its retention a session is gone for every purpose, purged yet or not.
      if (!session || isPastRetention(session, now, this.options.retentionMs)) throw unauthorized();
      this.options.onSession?.(session);
      return { kind: 'session', sessionId: session.id };
    }

    if (this.configuredKeyHash !== undefined && digestsEqual(digest, this.configuredKeyHash)) {
      return { kind: 'key', keyId: CONFIGURED_KEY_ID, scopes: ['*'], expiresAt: null };
    }

    const key = await reachable(this.store.getApiKeyByHash(digest));
    // The lookup is by digest; the comparison is repeated in constant time so that correctness
    // never rests on how the database compares strings.
    if (!key || !digestsEqual(digest, key.keyHash)) throw unauthorized();
    if (key.expiresAt !== null && now >= key.expiresAt) throw unauthorized('The API key has expired');
    await this.touch(key.id, now);
    return { kind: 'key', keyId: key.id, scopes: key.scopes, expiresAt: key.expiresAt };
  }

  /**
   * Whether a principal authenticated earlier still would be: its key not revoked nor expired,
   * its session not gone. For connections that outlive a request (src/auth/credential-watch.ts).
   * Throws when the store cannot answer.
   */
  async stillValid(principal: Principal): Promise<boolean> {
    const now = this.options.clock.now();
    switch (principal.kind) {
      case 'open':
        return true;
      case 'key': {
        if (principal.keyId === CONFIGURED_KEY_ID) return true;
        const key = await this.store.getApiKey(principal.keyId);
        return key !== undefined && (key.expiresAt === null || now < key.expiresAt);
      }
      case 'session': {
        const session = await this.store.getSession(principal.sessionId);
        return session !== undefined && !isPastRetention(session, now, this.options.retentionMs);
      }
    }
  }

  /**
   * Throws FORBIDDEN unless `principal` may act with `scope` (on `sessionId`, for routes on one
   * session). A session token passes only for its own session and only for read, write and
   * manage; which routes accept tokens at all is the route's decision.
   */
  authorize(principal: Principal, scope: Requirement, sessionId?: string): void {
    switch (principal.kind) {
      case 'open':
        return;
      case 'key':
        if (scope === ANY_KEY || grants(principal.scopes, scope)) return;
        throw forbidden(`This API key lacks the scope ${scope}`);
      case 'session':
        if (
          scope !== ANY_KEY &&
          SESSION_TOKEN_SCOPES.includes(scope) &&
          sessionId !== undefined &&
          sessionId.toLowerCase() === principal.sessionId
        ) {
          return;
        }
        throw forbidden('A session token is valid only for its own session');
      default:
        throw forbidden();
    }
  }

  private async touch(keyId: string, now: number): Promise<void> {
    const last = this.touched.get(keyId);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS && now >= last) return;
    if (this.touched.size >= TOUCHED_MAX) this.touched.clear();
    this.touched.set(keyId, now);
    // Only bookkeeping: a failed write must not fail the request it rides on.
    await this.store.touchApiKey(keyId, now).catch(() => this.touched.delete(keyId));
  }
}
