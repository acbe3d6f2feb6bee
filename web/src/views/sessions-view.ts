/**
 * The sessions view (an API key): the list with its filters and `stats`, paged; each row's time
 * left counting down locally and corrected by the session's own events (one Socket.IO
 * connection, a `join` per visible session); end a session; open one in the chat view.
 *
 * Sessions created elsewhere: the server has no feed of every session's lifecycle yet, so the
 * list is read again every REFRESH_MS while it is on screen. `refresh()` is the one entry point;
 * a future all-sessions subscription calls it instead of the timer.
 */
import { requestJson, SESSIONS_PATH, sessionPath, type Credential } from '../api/client.js';
import { ApiError, isAbort } from '../api/errors.js';
import type { SessionEvent, SessionList } from '../api/types.js';
import { announce, byId, element, isBusy, setAvailable, whileBusy } from '../dom.js';
import { FilterError, listQuery, NO_FILTERS, supportsMetadataFilter, type ListFilters, type StatusFilter } from '../sessions/filters.js';
import { LiveSessionFeed, type FeedState } from '../sessions/live-feed.js';
import { Pager } from '../sessions/paging.js';
import { applyEvent, rowOf, rowState, timeLeft, type SessionRow } from '../sessions/rows.js';
import { formatAgo, formatCountdown } from '../time/format.js';
import { serverTimeOf } from '../time/server-clock.js';
import type { AppContext } from './context.js';

const REFRESH_MS = 15_000;
const PAGE_SIZE = 20;

interface RowView {
  row: SessionRow;
  tr: HTMLTableRowElement;
  agent: HTMLTableCellElement;
  user: HTMLTableCellElement;
  status: HTMLTableCellElement;
  left: HTMLTableCellElement;
  renewals: HTMLTableCellElement;
  activity: HTMLTimeElement;
  metadata: HTMLSpanElement;
  end: HTMLButtonElement;
}

const short = (id: string): string => id.slice(0, 8);

export class SessionsView {
  private readonly ui = {
    section: byId('sessions'),
    title: byId('sessions-title'),
    total: byId('stat-total'),
    active: byId('stat-active'),
    expired: byId('stat-expired'),
    filters: byId<HTMLFormElement>('filters'),
    agent: byId<HTMLSelectElement>('filter-agent'),
    user: byId<HTMLInputElement>('filter-user'),
    status: byId<HTMLSelectElement>('filter-status'),
    metadata: byId('filter-metadata'),
    metaKey: byId<HTMLInputElement>('filter-meta-key'),
    metaValue: byId<HTMLInputElement>('filter-meta-value'),
    refresh: byId<HTMLButtonElement>('refresh-sessions'),
    live: byId('sessions-live'),
    caption: byId('sessions-caption'),
    rows: byId<HTMLTableSectionElement>('sessions-rows'),
    empty: byId('sessions-empty'),
    previous: byId<HTMLButtonElement>('page-previous'),
    next: byId<HTMLButtonElement>('page-next'),
    range: byId('page-range'),
  };

  private filters: ListFilters = NO_FILTERS;
  private readonly pager = new Pager();
  private readonly views = new Map<string, RowView>();
  private feed: LiveSessionFeed | null = null;
  private timer: number | null = null;
  private visible = false;
  private metadataSupported = false;
  private featuresRead = false;
  /** The list request in flight; a newer one supersedes it. */
  private reading: AbortController | null = null;

  constructor(private readonly ctx: AppContext) {
    this.bind();
  }

  /** The view is on screen: read the list, go live, refresh on the interval. */
  show(): void {
    const key = this.ctx.apiKey();
    if (!key) return;
    this.visible = true;
    void this.loadAgents(key);
    void this.readFeatures();
    if (!this.feed) {
      this.feed = new LiveSessionFeed({
        apiKey: key.value,
        onEvent: (event) => this.onEvent(event),
        onState: (state, detail) => this.feedState(state, detail),
        onJoined: (sessionId, joined) => {
          // Marks the rows whose events arrive live (also what tests wait for).
          const view = this.views.get(sessionId);
          if (view) view.tr.dataset.live = String(joined);
        },
      });
    }
    this.timer ??= window.setInterval(() => {
      if (document.visibilityState === 'visible') void this.refresh();
    }, REFRESH_MS);
    void this.refresh();
  }

  /** Off screen: no connection, no timer. */
  hide(): void {
    this.visible = false;
    this.feed?.close();
    this.feed = null;
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
    this.reading?.abort();
    this.reading = null;
  }

  /** Forgets everything shown (the key was forgotten). */
  reset(): void {
    this.hide();
    this.views.clear();
    this.ui.rows.replaceChildren();
    this.pager.reset();
    this.filters = NO_FILTERS;
    this.ui.filters.reset();
    this.ui.agent.replaceChildren(element('option', { text: 'Any agent', attributes: { value: '' } }));
  }

  focusTitle(): void {
    this.ui.title.focus();
  }

  /** Reads the current page again: the one way the list is brought up to date. */
  async refresh(): Promise<void> {
    const key = this.ctx.apiKey();
    if (!key || !this.visible) return;
    let query: URLSearchParams;
    try {
      query = listQuery(this.filters, this.pager.current, PAGE_SIZE, this.metadataSupported);
    } catch (error) {
      this.ctx.showError(error instanceof FilterError ? new ApiError(0, 'VALIDATION_ERROR', error.message, error.field, 'key') : error);
      return;
    }
    this.reading?.abort();
    const reading = new AbortController();
    this.reading = reading;
    try {
      const list = await requestJson<SessionList>('GET', `${SESSIONS_PATH}?${query}`, { credential: key, signal: reading.signal });
      if (this.reading !== reading || !this.visible) return;
      this.render(list);
    } catch (error) {
      if (!isAbort(error) && !reading.signal.aborted) this.ctx.failed(error);
    } finally {
      if (this.reading === reading) this.reading = null;
    }
  }

  /** Once a second: time left and last activity of every row, from the server's clock. */
  tick(): void {
    if (!this.visible) return;
    const now = this.ctx.clock.now();
    for (const view of this.views.values()) this.updateTimes(view, now);
  }

  // -------------------------------------------------------------------------------------------

  private async loadAgents(key: Credential): Promise<void> {
    try {
      const agents = await this.ctx.agents.load(key);
      const select = this.ui.agent;
      const chosen = select.value;
      select.replaceChildren(element('option', { text: 'Any agent', attributes: { value: '' } }));
      for (const agent of agents) select.append(element('option', { text: agent.name, attributes: { value: agent.id } }));
      select.value = chosen;
      // Names arrived after the rows: show them.
      for (const view of this.views.values()) view.agent.textContent = this.agentName(view.row.info.agentId);
    } catch (error) {
      this.ctx.failed(error);
    }
  }

  /** Shows the metadata filter only when the server documents a `metadata.…` list parameter. */
  private async readFeatures(): Promise<void> {
    if (this.featuresRead) return;
    this.featuresRead = true;
    try {
      const response = await fetch('/openapi.json', { credentials: 'omit', cache: 'no-store' });
      this.metadataSupported = response.ok && supportsMetadataFilter(await response.json());
    } catch {
      this.metadataSupported = false;
    }
    this.ui.metadata.hidden = !this.metadataSupported;
  }

  private agentName(agentId: string): string {
    return this.ctx.agents.name(agentId) ?? short(agentId);
  }

  private render(list: SessionList): void {
    const { ui } = this;
    // The server's time when it answered, from any active session in the answer.
    for (const info of list.sessions) {
      const serverTime = serverTimeOf(info);
      if (serverTime !== undefined) {
        this.ctx.clock.answered(serverTime);
        break;
      }
    }
    const now = this.ctx.clock.now();
    ui.total.textContent = String(list.stats.totalSessions);
    ui.active.textContent = String(list.stats.activeSessions);
    ui.expired.textContent = String(list.stats.expiredSessions);
    this.pager.answered(list);
    ui.range.textContent = this.pager.range(list.total);
    ui.caption.textContent = `${this.filters.status === 'all' ? 'Sessions' : `${this.filters.status[0]!.toUpperCase()}${this.filters.status.slice(1)} sessions`}, newest first: ${this.pager.range(list.total)}`;
    // aria-disabled, not disabled: the button that was just pressed keeps the focus.
    setAvailable(ui.previous, this.pager.hasPrevious);
    setAvailable(ui.next, this.pager.hasNext);
    ui.empty.hidden = list.sessions.length > 0;

    const focusWasInRows = ui.rows.contains(document.activeElement);
    const keep = new Set<string>();
    let previous: HTMLTableRowElement | null = null;
    for (const info of list.sessions) {
      keep.add(info.sessionId);
      let view = this.views.get(info.sessionId);
      if (view) view.row = rowOf(info, now);
      else {
        view = this.createRow(rowOf(info, now));
        this.views.set(info.sessionId, view);
      }
      this.updateRow(view, now);
      // Rows are reused, so focus on a row's button survives a refresh.
      const expected: ChildNode | null = previous ? previous.nextSibling : ui.rows.firstChild;
      if (expected !== view.tr) ui.rows.insertBefore(view.tr, expected);
      previous = view.tr;
    }
    for (const [id, view] of this.views) {
      if (keep.has(id)) continue;
      view.tr.remove();
      this.views.delete(id);
    }
    if (focusWasInRows && !ui.rows.contains(document.activeElement)) ui.title.focus();
    this.feed?.watch(
      [...this.views.values()].filter((v) => v.row.info.status === 'active' && !v.row.ended).map((v) => v.row.info.sessionId),
    );
  }

  private createRow(row: SessionRow): RowView {
    const id = row.info.sessionId;
    const metadata = element('span', { className: 'metadata' });
    const open = element('button', {
      className: 'secondary',
      text: 'Open',
      attributes: { type: 'button', 'aria-label': `Open session ${short(id)}`, 'data-action': 'open' },
    });
    const end = element('button', {
      className: 'danger',
      text: 'End',
      attributes: { type: 'button', 'aria-label': `End session ${short(id)}`, 'data-action': 'end' },
    });
    const activity = element('time');
    const cell = (...children: Array<Node | string>) => element('td', {}, ...children);
    const sessionCell = element(
      'th',
      { attributes: { scope: 'row' } },
      element('code', { text: short(id), attributes: { title: id } }),
      metadata,
    );
    const agent = cell();
    const user = cell();
    const status = cell();
    const left = cell();
    const renewals = cell();
    const tr = element(
      'tr',
      { attributes: { 'data-session-id': id } },
      sessionCell,
      agent,
      user,
      status,
      left,
      renewals,
      cell(activity),
      element('td', { className: 'row-actions' }, open, end),
    );
    open.addEventListener('click', () => {
      const key = this.ctx.apiKey();
      if (!key) return;
      this.ctx.openChat({ sessionId: id, credential: key });
    });
    end.addEventListener('click', () => void this.end(id, end));
    return { row, tr, agent, user, status, left, renewals, activity, metadata, end };
  }

  private updateRow(view: RowView, now: number): void {
    const { info } = view.row;
    view.agent.textContent = this.agentName(info.agentId);
    view.user.textContent = short(info.userId);
    view.user.title = info.userId;
    view.renewals.textContent = String(info.renewalCount);
    const meta = Object.keys(info.metadata ?? {}).length > 0 ? JSON.stringify(info.metadata) : '';
    view.metadata.textContent = meta.length > 80 ? `${meta.slice(0, 80)}…` : meta;
    view.metadata.title = meta;
    view.metadata.hidden = meta === '';
    view.activity.dateTime = info.lastActivity;
    view.activity.title = new Date(info.lastActivity).toLocaleString();
    this.updateTimes(view, now);
  }

  private updateTimes(view: RowView, now: number): void {
    const state = rowState(view.row, now);
    view.tr.dataset.state = state;
    view.status.textContent = state;
    view.left.textContent = state === 'active' || state === 'expiring' ? formatCountdown(timeLeft(view.row, now)) : '–';
    view.activity.textContent = formatAgo(now - Date.parse(view.row.info.lastActivity));
    const canEnd = state !== 'ended';
    if (view.end.hidden === canEnd) {
      if (!canEnd && document.activeElement === view.end) view.tr.querySelector<HTMLButtonElement>('[data-action="open"]')?.focus();
      view.end.hidden = !canEnd;
    }
  }

  private onEvent(event: SessionEvent): void {
    const view = this.views.get(event.sessionId);
    if (!view) return;
    this.ctx.clock.atLeast(Date.parse(event.at));
    const row = applyEvent(view.row, event);
    if (row === view.row) return;
    view.row = row;
    this.updateRow(view, this.ctx.clock.now());
    // An ended or expired session leaves a list of active sessions: read the page again.
    if (event.type === 'session.ended' || event.type === 'session.expired') void this.refresh();
  }

  private feedState(state: FeedState, detail?: string): void {
    const text: Record<FeedState, string> = {
      connecting: 'Live updates: connecting…',
      live: `Live updates: on. New sessions appear within ${REFRESH_MS / 1000} s.`,
      offline: 'Live updates: reconnecting…',
      refused: `Live updates: refused (${detail ?? 'error'}).`,
    };
    this.ui.live.textContent = text[state];
  }

  private async end(sessionId: string, button: HTMLButtonElement): Promise<void> {
    const key = this.ctx.apiKey();
    if (!key || isBusy(button)) return;
    if (!confirm(`End session ${sessionId}? It and its messages are deleted.`)) return;
    this.ctx.clearError();
    await whileBusy(button, async () => {
      try {
        await requestJson('DELETE', sessionPath(sessionId), { credential: key });
        const view = this.views.get(sessionId);
        if (view) {
          view.row = { ...view.row, ended: true };
          this.updateRow(view, this.ctx.clock.now());
        }
        announce(`Session ${short(sessionId)} ended.`);
        await this.refresh();
      } catch (error) {
        this.ctx.failed(error);
      }
    });
  }

  private readFilters(): ListFilters {
    const { ui } = this;
    return {
      agentId: ui.agent.value,
      userId: ui.user.value,
      status: ui.status.value as StatusFilter,
      metadataKey: this.metadataSupported ? ui.metaKey.value : '',
      metadataValue: this.metadataSupported ? ui.metaValue.value : '',
    };
  }

  private bind(): void {
    const { ui } = this;
    ui.filters.addEventListener('submit', (event) => {
      event.preventDefault();
      this.ctx.clearError();
      this.filters = this.readFilters();
      this.pager.reset();
      void this.refresh();
    });
    ui.refresh.addEventListener('click', () => {
      if (isBusy(ui.refresh)) return;
      this.ctx.clearError();
      void whileBusy(ui.refresh, () => this.refresh());
    });
    const page = (button: HTMLButtonElement, move: () => unknown) => {
      button.addEventListener('click', () => {
        if (isBusy(button) || !move()) return;
        void this.refresh();
      });
    };
    page(ui.next, () => this.pager.forward());
    page(ui.previous, () => this.pager.back());
  }
}
