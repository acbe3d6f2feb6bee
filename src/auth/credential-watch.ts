/**
 * Long-lived connections (event streams, Socket.IO) are authenticated when they open; this
 * checks them again, so that a revoked or expired key, or the token of a session that is gone,
 * stops receiving events within one period (RECHECK_PERIOD_MS) instead of for as long as the
 * connection lasts. Works across instances: every check reads the store.
 */
import type { Authenticator, Principal } from './authenticator.js';

/** How often the credentials of open connections are checked again. */
const RECHECK_PERIOD_MS = 30_000;

interface Watched {
  principal: Principal;
  onRevoked: () => void;
}

export class CredentialWatch {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly auth: Pick<Authenticator, 'stillValid'>,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Watches one connection's principal; returns the function that stops watching it. */
  watch(principal: Principal, onRevoked: () => void): () => void {
    const entry: Watched = { principal, onRevoked };
    this.watched.add(entry);
    return () => this.watched.delete(entry);
  }

  /** Checks every watched connection once; closes (`onRevoked`) those no longer valid. */
  async recheck(): Promise<number> {
    let revoked = 0;
    for (const entry of [...this.watched]) {
      let valid: boolean;
      try {
        valid = await this.auth.stillValid(entry.principal);
      } catch (error) {
        // A store that cannot answer says nothing about the credential: keep the connection.
        this.onError(error);
        continue;
      }
      if (valid || !this.watched.delete(entry)) continue;
      revoked++;
      entry.onRevoked();
    }
    return revoked;
  }

  get size(): number {
    return this.watched.size;
  }

  start(periodMs = RECHECK_PERIOD_MS): void {
    this.timer ??= setInterval(() => void this.recheck(), periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
