/**
 * Message search (SPEC §12): every word of the query, newest first, keyset pages, from sessions
 * not yet purged, narrowed to what the caller may read (a session token: its own session).
 */
import type { Clock } from '../clock.js';
import { forbidden } from '../auth/authenticator.js';
import { decodeCursor, encodeCursor } from '../domain/keyset.js';
import { toMessageView, type MessageView } from '../domain/message.js';
import { parseSearchQuery } from '../domain/search.js';
import type { Store } from '../store/store.js';

export interface SearchInput {
  q: string | undefined;
  agentId?: string;
  userId?: string;
  sessionId?: string;
  limit: number;
  cursor?: string;
  /** Set for a session token: only this session may be searched. */
  ownSession?: string;
}

export interface SearchPage {
  results: Array<{ sessionId: string; message: MessageView }>;
  nextCursor: string | null;
}

export class SearchService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly retentionMs: number,
  ) {}

  async search(input: SearchInput): Promise<SearchPage> {
    const words = parseSearchQuery(input.q);
    const after = input.cursor === undefined ? undefined : decodeCursor('m', input.cursor);
    let sessionId = input.sessionId?.toLowerCase();
    if (input.ownSession !== undefined) {
      if (sessionId !== undefined && sessionId !== input.ownSession) throw forbidden('A session token is valid only for its own session');
      sessionId = input.ownSession;
    }
    const rows = await this.store.searchMessages({
      words,
      agentId: input.agentId?.toLowerCase(),
      userId: input.userId?.toLowerCase(),
      sessionId,
      limit: input.limit + 1,
      after,
      now: this.clock.now(),
      retentionMs: this.retentionMs,
    });
    const more = rows.length > input.limit;
    const page = more ? rows.slice(0, input.limit) : rows;
    const last = page[page.length - 1];
    return {
      results: page.map((m) => ({ sessionId: m.sessionId, message: toMessageView(m) })),
      nextCursor: more && last ? encodeCursor('m', { createdAt: last.createdAt, id: last.id }) : null,
    };
  }
}
