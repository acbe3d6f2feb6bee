/**
 * Transcript export (SPEC §12): json, ndjson or markdown, produced as it is sent. Messages are
 * read in keyset batches, oldest first (`createdAt` is strictly increasing within a session, so
 * the last time read is an exact cursor), and each batch becomes one chunk of text; the next
 * batch is read only when the response has taken the previous chunk (the stream is pulled), so
 * memory stays flat however long the session is.
 */
import { Readable } from 'node:stream';
import type { Clock } from '../clock.js';
import { toMessageView, type Message } from '../domain/message.js';
import { toSessionInfo, type Session } from '../domain/session.js';
import type { Store } from '../store/store.js';
import type { SessionService } from './sessions.js';
import { isoInstant } from '../domain/instant.js';

export const EXPORT_FORMATS = ['json', 'ndjson', 'markdown'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const EXPORT_MEDIA: Record<ExportFormat, { contentType: string; extension: string }> = {
  json: { contentType: 'application/json; charset=utf-8', extension: 'json' },
  ndjson: { contentType: 'application/x-ndjson; charset=utf-8', extension: 'ndjson' },
  markdown: { contentType: 'text/markdown; charset=utf-8', extension: 'md' },
};

/** Messages per read. */
const EXPORT_BATCH = 500;

export interface Transcript {
  session: Session;
  contentType: string;
  filename: string;
  body: Readable;
}

export class ExportService {
  constructor(
    private readonly store: Store,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
  ) {}

  /** Looks the session up now (404 before anything is sent); the body reads as it is pulled. */
  async export(sessionId: string, format: ExportFormat): Promise<Transcript> {
    // Expired sessions too, until they are purged.
    const session = await this.sessions.find(sessionId);
    const agent = await this.store.getAgent(session.agentId);
    const now = this.clock.now();
    const { contentType, extension } = EXPORT_MEDIA[format];
    const chunks = this.chunks(session, format, agent?.name ?? 'Agent', now);
    return {
      session,
      contentType,
      filename: `session-${session.id}.${extension}`,
      body: Readable.from(chunks, { objectMode: false, highWaterMark: 64 * 1024 }),
    };
  }

  private async *batches(sessionId: string): AsyncGenerator<Message[]> {
    let after: number | undefined;
    for (;;) {
      const batch = await this.store.listMessages(sessionId, { after, order: 'asc', fetch: EXPORT_BATCH });
      if (batch.length > 0) yield batch;
      if (batch.length < EXPORT_BATCH) return;
      after = batch[batch.length - 1]!.createdAt;
    }
  }

  private async *chunks(session: Session, format: ExportFormat, agentName: string, now: number): AsyncGenerator<string> {
    const info = toSessionInfo(session, now);
    const exportedAt = new Date(now).toISOString();
    if (format === 'json') {
      yield `{"session":${JSON.stringify(info)},"messages":[`;
      let first = true;
      for await (const batch of this.batches(session.id)) {
        yield (first ? '' : ',') + batch.map((m) => JSON.stringify(toMessageView(m))).join(',');
        first = false;
      }
      yield `],"exportedAt":${JSON.stringify(exportedAt)}}`;
      return;
    }
    if (format === 'ndjson') {
      yield `${JSON.stringify({ type: 'session', session: info })}\n`;
      for await (const batch of this.batches(session.id)) {
        yield batch.map((m) => `${JSON.stringify({ type: 'message', message: toMessageView(m) })}\n`).join('');
      }
      return;
    }
    yield markdownHeading(info, agentName, exportedAt);
    for await (const batch of this.batches(session.id)) {
      yield batch.map((m) => markdownMessage(m, agentName)).join('');
    }
  }
}

function markdownHeading(info: ReturnType<typeof toSessionInfo>, agentName: string, exportedAt: string): string {
  return [
    `# Session ${info.sessionId}`,
    '',
    `- Agent: ${agentName} (${info.agentId})`,
    `- User: ${info.userId}`,
    `- Status: ${info.status}`,
    `- Created: ${info.createdAt}`,
    `- Last activity: ${info.lastActivity}`,
    `- Expires: ${info.expiresAt}`,
    `- Exported: ${exportedAt}`,
    '',
    '',
  ].join('\n');
}

/** The author, the time, then the content verbatim. */
function markdownMessage(m: Message, agentName: string): string {
  return `## ${m.isAgent ? agentName : 'User'} · ${isoInstant(m.createdAt)}\n\n${m.content}\n\n`;
}
