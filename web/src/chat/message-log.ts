/**
 * The messages a chat shows, in order and each once, whatever way they arrive: history pages
 * (newest first, any order of pages), `message.created` events (the backlog replayed on connect
 * included), the chunks of a reply streamed to this tab and the stored reply that ends it. Pure:
 * the view asks where an entry goes (`before`: the id of the entry it precedes) and renders.
 */
import type { MessageView } from '../api/types.js';

export interface LogEntry {
  id: string;
  isAgent: boolean;
  content: string;
  /** Epoch ms; null while a streamed reply has not been stored yet (such entries stay last). */
  createdAt: number | null;
  createdAtText: string | null;
  streaming: boolean;
  failed: boolean;
}

export interface Placement {
  entry: LogEntry;
  /** Id of the entry this one now precedes; null: the end of the list. */
  before: string | null;
  /** True when the id was not shown before. */
  added: boolean;
  /** True when its position changed (or it is new). */
  moved: boolean;
}

export class MessageLog {
  /** Oldest first; entries without createdAt (streaming) at the end. */
  private readonly order: LogEntry[] = [];
  private readonly byId = new Map<string, LogEntry>();
  private readonly chunks = new Map<string, string[]>();
  /**
   * `createdAt` (epoch ms) of the oldest message history has delivered while older ones remain;
   * null when history has reached the start. A live message older than this is left to paging.
   */
  floor: number | null = null;

  get size(): number {
    return this.order.length;
  }

  ids(): string[] {
    return this.order.map((entry) => entry.id);
  }

  get(id: string): LogEntry | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Would a message arriving live be shown now, or is it older than the history shown? */
  acceptsLive(message: Pick<MessageView, 'createdAt'>): boolean {
    return this.floor === null || Date.parse(message.createdAt) >= this.floor;
  }

  /** A complete, stored message. Shown once per id; a streamed entry becomes the stored one. */
  upsert(message: MessageView): Placement {
    const createdAt = Date.parse(message.createdAt);
    let entry = this.byId.get(message.id);
    const added = entry === undefined;
    if (!entry) {
      entry = {
        id: message.id,
        isAgent: message.isAgent,
        content: '',
        createdAt: null,
        createdAtText: null,
        streaming: false,
        failed: false,
      };
      this.byId.set(entry.id, entry);
    }
    entry.isAgent = message.isAgent;
    entry.content = message.content;
    entry.streaming = false;
    entry.failed = false;
    this.chunks.delete(entry.id);
    if (Number.isFinite(createdAt)) {
      entry.createdAt = createdAt;
      entry.createdAtText = message.createdAt;
    }
    return this.place(entry, added);
  }

  /** A piece of a reply streamed to this tab. Ignored once the reply is stored. */
  chunk(messageId: string, index: number, text: string): Placement | undefined {
    if (!Number.isInteger(index) || index < 0) return undefined;
    let entry = this.byId.get(messageId);
    let added = false;
    if (!entry) {
      entry = { id: messageId, isAgent: true, content: '', createdAt: null, createdAtText: null, streaming: true, failed: false };
      this.byId.set(messageId, entry);
      this.chunks.set(messageId, []);
      added = true;
    }
    const pieces = this.chunks.get(messageId);
    if (!entry.streaming || !pieces) return undefined;
    pieces[index] = text;
    entry.content = pieces.join('');
    return added ? this.place(entry, true) : { entry, before: this.nextId(entry), added: false, moved: false };
  }

  /** A streamed reply that will not be stored (the agent failed): kept, marked failed. */
  fail(messageId: string): LogEntry | undefined {
    const entry = this.byId.get(messageId);
    if (!entry || !entry.streaming) return undefined;
    entry.streaming = false;
    entry.failed = true;
    this.chunks.delete(messageId);
    return entry;
  }

  get streaming(): boolean {
    return this.order.some((entry) => entry.streaming);
  }

  private nextId(entry: LogEntry): string | null {
    const at = this.order.indexOf(entry);
    return this.order[at + 1]?.id ?? null;
  }

  private place(entry: LogEntry, added: boolean): Placement {
    const from = this.order.indexOf(entry);
    if (from >= 0) this.order.splice(from, 1);
    const at = entry.createdAt === null ? this.order.length : this.insertionPoint(entry.createdAt);
    this.order.splice(at, 0, entry);
    return { entry, before: this.order[at + 1]?.id ?? null, added, moved: added || from !== at };
  }

  /** The first position whose entry is newer than `createdAt` or still streaming. */
  private insertionPoint(createdAt: number): number {
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const other = this.order[mid]!.createdAt;
      if (other !== null && other <= createdAt) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
