/**
 * The search box of the sessions view (SPEC §12): messages of every session the API key may
 * read that contain every word, newest first; "More results" follows `nextCursor`; each result
 * opens its session in the chat view. Message text is set with textContent, never as HTML.
 */
import { requestJson } from '../api/client.js';
import type { SearchResults } from '../api/types.js';
import { announce, byId, element, whileBusy } from '../dom.js';
import type { AppContext } from './context.js';

const PAGE_SIZE = 20;

export class SearchPanel {
  private readonly ui = {
    form: byId<HTMLFormElement>('search-form'),
    input: byId<HTMLInputElement>('search-q'),
    button: byId<HTMLButtonElement>('search-button'),
    results: byId('search-results'),
    summary: byId('search-summary'),
    list: byId<HTMLOListElement>('search-list'),
    more: byId<HTMLButtonElement>('search-more'),
    clear: byId<HTMLButtonElement>('search-clear'),
  };
  private query = '';
  private cursor: string | null = null;
  private found = 0;

  constructor(private readonly ctx: AppContext) {
    const { ui } = this;
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void whileBusy(ui.button, () => this.search(ui.input.value.trim()));
    });
    ui.more.addEventListener('click', () => void whileBusy(ui.more, () => this.next()));
    ui.clear.addEventListener('click', () => {
      this.reset();
      ui.input.focus();
    });
  }

  reset(): void {
    const { ui } = this;
    ui.results.hidden = true;
    ui.list.replaceChildren();
    ui.summary.textContent = '';
    ui.more.hidden = true;
    this.cursor = null;
    this.found = 0;
  }

  private async search(q: string): Promise<void> {
    if (q === '') return;
    this.reset();
    this.query = q;
    await this.load(null);
  }

  private async next(): Promise<void> {
    if (this.cursor !== null) await this.load(this.cursor);
  }

  private async load(cursor: string | null): Promise<void> {
    const key = this.ctx.apiKey();
    const query = new URLSearchParams({ q: this.query, limit: String(PAGE_SIZE) });
    if (cursor !== null) query.set('cursor', cursor);
    this.ctx.clearError();
    let page: SearchResults;
    try {
      page = await requestJson<SearchResults>('GET', `/api/messaging/search?${query}`, { credential: key });
    } catch (error) {
      this.ctx.failed(error);
      return;
    }
    const { ui } = this;
    const firstNew = page.results.length > 0 ? this.found : -1;
    for (const result of page.results) ui.list.append(this.row(result));
    this.found += page.results.length;
    this.cursor = page.nextCursor;
    ui.more.hidden = page.nextCursor === null;
    ui.results.hidden = false;
    const summary =
      this.found === 0
        ? `No messages contain every word of “${this.query}”.`
        : `${this.found}${page.nextCursor ? '+' : ''} messages contain every word of “${this.query}”, newest first.`;
    ui.summary.textContent = summary;
    announce(summary);
    // "More results" keeps the keyboard where the new results begin.
    if (cursor !== null && firstNew >= 0) ui.list.children[firstNew]?.querySelector('button')?.focus();
  }

  private row(result: SearchResults['results'][number]): HTMLLIElement {
    const { sessionId, message } = result;
    const key = this.ctx.apiKey();
    const open = element('button', {
      className: 'secondary',
      text: `Open session ${sessionId.slice(0, 8)}`,
      attributes: { type: 'button', title: sessionId, 'aria-label': `Open session ${sessionId}` },
    });
    open.addEventListener('click', () => {
      if (key) this.ctx.openChat({ sessionId, credential: key });
    });
    const when = element('time', { text: new Date(message.createdAt).toLocaleString(), attributes: { datetime: message.createdAt } });
    const author = element('span', { className: 'author', text: message.isAgent ? 'Agent' : 'User' });
    return element(
      'li',
      {},
      element('div', { className: 'meta' }, author, ' · ', when, ' · ', open),
      element('p', { className: 'content', text: message.content }),
    );
  }
}
