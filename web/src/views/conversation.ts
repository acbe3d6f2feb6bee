/**
 * The conversation of the chat view: the message list on screen, fed by history pages, live
 * messages and streamed replies (their order and uniqueness decided by MessageLog). Older
 * history is loaded as the reader scrolls up, with the reader's place kept; each load is said in
 * one sentence, and an agent's reply once, complete.
 */
import type { HistoryPage, MessageView } from '../api/types.js';
import { MessageLog, type LogEntry, type Placement } from '../chat/message-log.js';
import { announce, element } from '../dom.js';

/** Older history is loaded when the reader scrolls within this many pixels of the top. */
const LOAD_OLDER_WITHIN_PX = 160;
const AT_BOTTOM_WITHIN_PX = 40;

interface Item {
  li: HTMLLIElement;
  author: HTMLSpanElement;
  time: HTMLTimeElement;
  text: HTMLDivElement;
}

export interface ConversationOptions {
  list: HTMLOListElement;
  loadOlderButton: HTMLButtonElement;
  /** The agent's name as shown beside its messages. */
  agentName(): string;
  /** Reads one page of history before `before` (the newest page without); null if no longer wanted. */
  readPage(before: number | undefined): Promise<HistoryPage | null>;
  failed(error: unknown): void;
}

export class Conversation {
  private log = new MessageLog();
  private readonly items = new Map<string, Item>();
  /** `before` cursor of the next older history page; null when history is complete. */
  private olderCursor: number | null = null;
  private loadingOlder: Promise<void> | null = null;
  /** No more loading (the session is over, or the view closed). */
  private stopped = true;

  constructor(private readonly o: ConversationOptions) {
    o.list.addEventListener('scroll', () => {
      if (o.list.scrollTop < LOAD_OLDER_WITHIN_PX) void this.loadOlder();
    });
  }

  /** An empty conversation, ready to load. */
  reset(): void {
    this.log = new MessageLog();
    this.items.clear();
    this.olderCursor = null;
    this.loadingOlder = null;
    this.stopped = false;
    this.o.list.replaceChildren();
    this.o.list.removeAttribute('aria-busy');
    this.o.loadOlderButton.hidden = true;
  }

  /** Nothing more is loaded (what is shown stays). */
  stop(): void {
    this.stopped = true;
  }

  /** The newest page, scrolled to its end, then older pages until the list can scroll. */
  async start(): Promise<void> {
    await this.loadPage(undefined);
    this.o.list.scrollTop = this.o.list.scrollHeight;
    const list = this.o.list;
    while (this.olderCursor !== null && !this.stopped && list.scrollHeight <= list.clientHeight) {
      const before = this.olderCursor;
      await this.loadOlder();
      if (this.olderCursor === before) return;
    }
  }

  /** Would a message arriving live be shown now, or is it older than the history shown? */
  acceptsLive(message: MessageView): boolean {
    return this.log.acceptsLive(message);
  }

  /**
   * A message that arrived live (not a page of history): shown, and an agent's reply said once,
   * complete: when it first appears whole, or when the reply that was streaming is stored
   * (whichever of the send's `done` and the `message.created` event comes first).
   */
  live(message: MessageView): void {
    const wasStreaming = this.log.get(message.id)?.streaming === true;
    const placement = this.log.upsert(message);
    this.render(placement);
    if (placement.entry.isAgent && (placement.added || wasStreaming)) {
      const { content } = placement.entry;
      announce(`${this.o.agentName()}: ${content.length > 300 ? `${content.slice(0, 300)}…` : content}`);
    }
  }

  /** A piece of a reply streamed to this tab. */
  chunk(messageId: string, index: number, text: string): void {
    const placement = this.log.chunk(messageId, index, text);
    if (placement) this.render(placement);
  }

  /** A streamed reply that will not be stored: kept on screen, marked failed. */
  fail(messageId: string): void {
    const entry = this.log.fail(messageId);
    if (entry) this.render({ entry, before: null, added: false, moved: false });
  }

  /** A line that is not a message (an agent's error), at the end. */
  notice(text: string, kind: string): void {
    const list = this.o.list;
    const atBottom = this.isAtBottom();
    list.append(
      element('li', { className: `message ${kind}`, attributes: { 'data-testid': kind } }, element('div', { className: 'text', text })),
    );
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  /**
   * The next older page, prepended without moving what the reader sees: the distance from the
   * bottom of the list is kept (the list opts out of the browser's own scroll anchoring, so the
   * two cannot both correct). One load at a time.
   */
  loadOlder(): Promise<void> {
    if (this.olderCursor === null || this.stopped) return Promise.resolve();
    this.loadingOlder ??= (async () => {
      const list = this.o.list;
      const fromBottom = list.scrollHeight - list.scrollTop;
      try {
        const added = await this.loadPage(this.olderCursor ?? undefined);
        list.scrollTop = list.scrollHeight - fromBottom;
        // One short sentence, not fifty messages read out.
        if (added > 0)
          announce(
            `${added} older message${added === 1 ? '' : 's'} loaded${this.olderCursor === null ? ': the start of the conversation' : ''}.`,
          );
      } catch (error) {
        this.o.failed(error);
      } finally {
        this.loadingOlder = null;
      }
    })();
    return this.loadingOlder;
  }

  /** One page of history; returns how many messages were new on screen. */
  private async loadPage(before: number | undefined): Promise<number> {
    const page = await this.o.readPage(before);
    if (!page) return 0;
    let added = 0;
    for (const message of page.messages) {
      const placement = this.log.upsert(message);
      if (placement.added) added++;
      this.render(placement);
    }
    this.olderCursor = page.hasMore ? page.cursors.before : null;
    this.log.floor = this.olderCursor;
    const button = this.o.loadOlderButton;
    // The button goes away with the last page: the focus goes to the messages it loaded.
    if (this.olderCursor === null && document.activeElement === button) this.o.list.focus();
    button.hidden = this.olderCursor === null;
    return added;
  }

  private render(placement: Placement): void {
    const { entry } = placement;
    const list = this.o.list;
    const atBottom = this.isAtBottom();
    let item = this.items.get(entry.id);
    if (!item) {
      const author = element('span', { className: 'author' });
      const time = element('time');
      const text = element('div', { className: 'text' });
      const li = element(
        'li',
        { attributes: { 'data-message-id': entry.id, 'data-testid': 'message' } },
        element('div', { className: 'meta' }, author, ' ', time),
        text,
      );
      item = { li, author, time, text };
      this.items.set(entry.id, item);
    }
    this.update(item, entry);
    if (placement.moved) list.insertBefore(item.li, placement.before ? (this.items.get(placement.before)?.li ?? null) : null);
    if (atBottom) list.scrollTop = list.scrollHeight;
    // Screen readers wait for a streamed reply to be complete, not read every chunk.
    if (this.log.streaming) list.setAttribute('aria-busy', 'true');
    else list.removeAttribute('aria-busy');
  }

  private update(item: Item, entry: LogEntry): void {
    item.li.className = `message ${entry.isAgent ? 'agent' : 'user'}${entry.streaming ? ' streaming' : ''}${entry.failed ? ' failed' : ''}`;
    item.author.textContent = entry.isAgent ? this.o.agentName() : 'User';
    item.text.textContent = entry.content;
    if (entry.createdAtText) {
      item.time.dateTime = entry.createdAtText;
      item.time.textContent = new Date(entry.createdAtText).toLocaleTimeString();
    }
  }

  private isAtBottom(): boolean {
    const list = this.o.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < AT_BOTTOM_WITHIN_PX;
  }
}
