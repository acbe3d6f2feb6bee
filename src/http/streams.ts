/**
 * SPEC §6: at most MAX_STREAMS_PER_CREDENTIAL open event streams (GET …/events) and Socket.IO
 * connections together per credential; one more is refused with 429 RATE_LIMITED. A stream's
 * place is given back when it closes, whoever closes it.
 *
 * The count is kept per instance (docs/security.md): a stream is a connection to one process,
 * so the process holding it is the one that knows, without a shared counter that a crashed
 * instance would leave wrong. Behind a load balancer a credential may hold up to the limit on
 * each instance.
 */
import type { Principal } from '../auth/authenticator.js';
import { AppError } from '../domain/errors.js';

/** How long a refused client is told to wait before trying again (a stream may close any time). */
export const STREAM_RETRY_AFTER_SECONDS = 5;

export class StreamLimits {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** The credential's count key; undefined when auth is off (one local user, nothing to share). */
  private keyOf(principal: Principal): string | undefined {
    if (principal.kind === 'key') return `key:${principal.keyId}`;
    if (principal.kind === 'session') return `session:${principal.sessionId}`;
    return undefined;
  }

  /** Takes a place for `principal`, or throws RATE_LIMITED; the returned function gives it back (once). */
  acquire(principal: Principal | null): () => void {
    const key = principal ? this.keyOf(principal) : undefined;
    if (key === undefined) return () => {};
    const count = this.open.get(key) ?? 0;
    if (count >= this.max) {
      throw new AppError('RATE_LIMITED', 'Too many open streams', `At most ${this.max} event streams and Socket.IO connections per credential`, {
        limit: this.max,
        retryAfter: STREAM_RETRY_AFTER_SECONDS,
      });
    }
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }

  /** Open streams of a credential (for tests and metrics). */
  count(principal: Principal): number {
    const key = this.keyOf(principal);
    return key === undefined ? 0 : (this.open.get(key) ?? 0);
  }
}
