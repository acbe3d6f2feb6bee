/**
 * The chat view: one session's status panel (expiry, countdown, renewals, live state), its
 * actions, and its conversation. History is read newest page first and older pages are loaded
 * as the reader scrolls up, with the scroll position kept where it was. Sending streams the
 * reply (`transport: "sse"`). The session's events arrive over its event stream.
 */
import { request, requestJson, sessionPath, type Credential } from '../api/client.js';
import { ApiError, isAbort } from '../api/errors.js';
import type { HistoryPage, MessageView, SendMessageResponse, SessionEvent, SessionInfo, SessionStatus } from '../api/types.js';
import { MessageLog, type LogEntry, type Placement } from '../chat/message-log.js';
import { SessionEventStream, type StreamState } from '../chat/event-stream.js';
import { announce, byId, disableControls, element, isBusy, whileBusy } from '../dom.js';
import { sessionLink } from '../links.js';
import { frameJson } from '../sse/parser.js';
import { readEventStream } from '../sse/read.js';
import { tabStorage } from '../storage.js';
import { describeDuration, formatCountdown } from '../time/format.js';
import { serverTimeOf } from '../time/server-clock.js';
import type { AppContext, ChatTarget } from './context.js';

const HISTORY_PAGE = 50;
/** Older history is loaded when the reader scrolls within this many pixels of the top. */
const LOAD_OLDER_WITHIN_PX = 160;
const AT_BOTTOM_WITHIN_PX = 40;

type Final = 'expired' | 'ended';

interface Item {
  li: HTMLLIElement;
  author: HTMLSpanElement;
  time: HTMLTimeElement;
  text: HTMLDivElement;
}

export class ChatView {
  private readonly ui = {
    section: byId('session'),
    title: byId('session-title'),
    warning: byId('warning'),
    warningText: byId('warning-text'),
    warningRenew: byId<HTMLButtonElement>('warning-renew'),
    final: byId('final'),
    sessionId: byId('session-id'),
    agent: byId('session-agent'),
    status: byId('session-status'),
    expiresAt: byId<HTMLTimeElement>('expires-at'),
    countdown: byId('countdown'),
    renewals: byId('renewal-count'),
    streamState: byId('stream-state'),
    renew: byId<HTMLButtonElement>('renew'),
    heartbeat: byId<HTMLButtonElement>('heartbeat'),
    end: byId<HTMLButtonElement>('end'),
    back: byId<HTMLButtonElement>('back-to-sessions'),
    newSession: byId<HTMLButtonElement>('new-session-button'),
    share: byId('share'),
    shareLink: byId<HTMLInputElement>('share-link'),
    copyLink: byId<HTMLButtonElement>('copy-link'),
    loadOlder: byId<HTMLButtonElement>('load-older'),
    messages: byId<HTMLOListElement>('messages'),
    sendForm: byId<HTMLFormElement>('send-form'),
    input: byId<HTMLTextAreaElement>('message-input'),
    send: byId<HTMLButtonElement>('send'),
  };

  private target: ChatTarget | null = null;
  private info: Partial<SessionInfo> = {};
  /** Server time of what the status panel shows; older events do not overwrite it. */
  private infoAt: number | null = null;
  private final: Final | null = null;
  private stream: SessionEventStream | null = null;
  private log = new MessageLog();
  private readonly items = new Map<string, Item>();
  /** `before` cursor of the next older history page; null when history is complete. */
  private olderCursor: number | null = null;
  private loadingOlder: Promise<void> | null = null;
  private sending = false;
  private warned = false;
  private lastExpiryCheck = 0;

  constructor(private readonly ctx: AppContext) {
    this.bind();
  }

  get sessionId(): string | null {
    return this.target?.sessionId ?? null;
  }

  /** Opens `target` (closing whatever was open). */
  async open(target: ChatTarget): Promise<void> {
    this.close();
    this.target = target;
    const { ui } = this;
    const saved = tabStorage.get('lastEventId');
    const lastEventId = saved.startsWith(`${target.sessionId}:`) ? saved.slice(target.sessionId.length + 1) : '';
    for (const control of this.controls()) control.disabled = false;
    ui.final.hidden = true;
    ui.warning.hidden = true;
    ui.sessionId.textContent = target.sessionId;
    for (const node of [ui.agent, ui.status, ui.expiresAt, ui.countdown, ui.renewals, ui.streamState]) node.textContent = '';
    ui.expiresAt.removeAttribute('datetime');
    ui.newSession.hidden = true;
    ui.back.hidden = this.ctx.apiKey() === null;
    // A link can be offered only with the session's own token (never with the API key).
    const token = target.credential.kind === 'token' ? target.credential.value : null;
    ui.share.hidden = token === null;
    if (token) ui.shareLink.value = sessionLink(location.origin, location.pathname, target.sessionId, token);

    const opened = target;
    const current = () => this.target === opened && !this.final;
    try {
      const info = target.info ?? (await requestJson<SessionInfo>('GET', sessionPath(target.sessionId), { credential: target.credential }));
      if (this.target !== opened) return;
      this.applyInfo(info, { fresh: true });
      if (!current()) return;
      await this.loadPage(undefined);
      if (!current()) return;
      ui.messages.scrollTop = ui.messages.scrollHeight;
      await this.fillViewport();
      if (!current()) return;
      this.startEvents(lastEventId);
    } catch (error) {
      if (this.target === opened) this.failed(error);
    }
  }

  /** Closes the view's stream and forgets what it showed (what is stored stays). */
  close(): void {
    this.stream?.close();
    this.stream = null;
    this.target = null;
    this.info = {};
    this.infoAt = null;
    this.final = null;
    this.olderCursor = null;
    this.loadingOlder = null;
    this.warned = false;
    this.log = new MessageLog();
    this.items.clear();
    this.ui.messages.replaceChildren();
    this.ui.messages.removeAttribute('aria-busy');
    this.ui.loadOlder.hidden = true;
  }

  focusTitle(): void {
    this.ui.title.focus();
  }

  /** Once a second: the countdown and the warning's clock; a check when time has run out. */
  tick(): void {
    if (!this.target || !this.info.expiresAt || this.final) return;
    const left = Date.parse(this.info.expiresAt) - this.ctx.clock.now();
    const face = formatCountdown(left);
    this.ui.countdown.textContent = face;
    // Not a live region: a clock read out every second would drown everything else.
    this.ui.warningText.textContent = `This session expires in ${face}. Renew it to keep it open.`;
    // The server says so within a second (session.expired); this covers a broken event stream.
    if (left <= 0 && Date.now() - this.lastExpiryCheck > 5000) {
      this.lastExpiryCheck = Date.now();
      const target = this.target;
      requestJson<SessionInfo>('GET', sessionPath(target.sessionId), { credential: target.credential })
        .then((info) => {
          if (this.target === target) this.applyInfo(info, { fresh: true });
        })
        .catch((error: unknown) => {
          if (this.target === target) this.failed(error);
        });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Status

  /**
   * Takes SessionInfo fields (or a send's `sessionStatus`) into the panel. `fresh`: a direct
   * answer (it tells the server's time); `at`: an event's server time, ignored when older than
   * what the panel shows (a replayed backlog). Returns whether the panel took it.
   */
  private applyInfo(info: Partial<SessionInfo> | SessionStatus | undefined, { fresh = false, at }: { fresh?: boolean; at?: number } = {}): boolean {
    if (!info || typeof info !== 'object') return false;
    if (at !== undefined && Number.isFinite(at)) {
      if (this.infoAt !== null && at < this.infoAt) return false;
      this.infoAt = at;
    }
    if (fresh) {
      const serverTime = serverTimeOf(info as Partial<SessionInfo>);
      if (serverTime !== undefined) {
        this.ctx.clock.answered(serverTime);
        this.infoAt = serverTime;
      }
    }
    this.info = { ...this.info, ...info };
    const { ui } = this;
    const current = this.info;
    if (current.agentId) ui.agent.textContent = this.ctx.agents.name(current.agentId) ?? current.agentId;
    if (current.status) ui.status.textContent = this.final ?? current.status;
    if (current.expiresAt) {
      ui.expiresAt.dateTime = current.expiresAt;
      ui.expiresAt.textContent = new Date(current.expiresAt).toLocaleString();
      ui.expiresAt.title = current.expiresAt;
    }
    if (current.renewalCount !== undefined) ui.renewals.textContent = String(current.renewalCount);
    if (current.status === 'expired') {
      this.setFinal('expired');
      return true;
    }
    this.tick();
    if (info.isNearExpiration === true) this.showWarning();
    else if (info.isNearExpiration === false) this.hideWarning();
    return true;
  }

  private showWarning(): void {
    if (this.final) return;
    this.ui.warning.hidden = false;
    if (this.warned) return;
    // Said once when the warning appears; the banner's ticking clock is not a live region.
    this.warned = true;
    const left = Date.parse(this.info.expiresAt ?? '') - this.ctx.clock.now();
    announce(`This session expires in ${describeDuration(left)}. Renew it to keep it open.`);
  }

  private hideWarning(): void {
    // Focus on the banner's own Renew button must not fall to the page when the banner hides.
    if (this.ui.warning.contains(document.activeElement)) this.ui.renew.focus();
    this.ui.warning.hidden = true;
    this.warned = false;
  }

  private controls(): Array<HTMLButtonElement | HTMLTextAreaElement> {
    const { ui } = this;
    return [ui.input, ui.send, ui.renew, ui.heartbeat, ui.end, ui.warningRenew, ui.loadOlder];
  }

  /** The session is over: say so, disable everything that would act on it. */
  private setFinal(kind: Final): void {
    if (this.final || !this.target) return;
    this.final = kind;
    this.stream?.close();
    this.stream = null;
    const { ui } = this;
    ui.final.textContent =
      kind === 'expired' ? 'This session has expired. It can no longer be used.' : 'This session has ended. It and its messages were deleted.';
    ui.final.hidden = false;
    disableControls(this.controls(), ui.final);
    ui.warning.hidden = true;
    ui.share.hidden = true;
    ui.status.textContent = kind;
    ui.countdown.textContent = kind === 'expired' ? '0:00 (expired)' : '–';
    ui.streamState.textContent = 'closed';
    ui.newSession.textContent = this.ctx.apiKey() ? 'New session' : 'Open another session';
    ui.newSession.hidden = false;
    announce(ui.final.textContent);
    // Its token is of no further use.
    tabStorage.remove('sessionId', 'sessionToken', 'lastEventId');
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private render(placement: Placement): void {
    const { entry } = placement;
    const list = this.ui.messages;
    const atBottom = this.isAtBottom();
    let item = this.items.get(entry.id);
    if (!item) {
      const author = element('span', { className: 'author' });
      const time = element('time');
      const text = element('div', { className: 'text' });
      const li = element('li', { attributes: { 'data-message-id': entry.id, 'data-testid': 'message' } }, element('div', { className: 'meta' }, author, ' ', time), text);
      item = { li, author, time, text };
      this.items.set(entry.id, item);
    }
    this.update(item, entry);
    if (placement.moved) {
      const next = placement.before ? this.items.get(placement.before)?.li ?? null : null;
      list.insertBefore(item.li, next);
    }
    if (atBottom) list.scrollTop = list.scrollHeight;
    this.updateBusy();
  }

  private update(item: Item, entry: LogEntry): void {
    item.li.className = `message ${entry.isAgent ? 'agent' : 'user'}${entry.streaming ? ' streaming' : ''}${entry.failed ? ' failed' : ''}`;
    item.author.textContent = entry.isAgent ? this.agentName() : 'User';
    item.text.textContent = entry.content;
    if (entry.createdAtText) {
      item.time.dateTime = entry.createdAtText;
      item.time.textContent = new Date(entry.createdAtText).toLocaleTimeString();
    }
  }

  private agentName(): string {
    return (this.info.agentId && this.ctx.agents.name(this.info.agentId)) || 'Agent';
  }

  /**
   * A message that arrived live (not a page of history): shown, and an agent's reply said once,
   * complete: when it first appears whole, or when the reply that was streaming is stored
   * (whichever of the send's `done` and the `message.created` event comes first).
   */
  private live(message: MessageView): void {
    const wasStreaming = this.log.get(message.id)?.streaming === true;
    const placement = this.log.upsert(message);
    this.render(placement);
    if (placement.entry.isAgent && (placement.added || wasStreaming)) this.announceMessage(placement.entry);
  }

  private announceMessage(entry: LogEntry): void {
    const text = entry.content.length > 300 ? `${entry.content.slice(0, 300)}…` : entry.content;
    announce(`${this.agentName()}: ${text}`);
  }

  /** Screen readers hear a streamed reply once, complete, not at every chunk. */
  private updateBusy(): void {
    if (this.log.streaming) this.ui.messages.setAttribute('aria-busy', 'true');
    else this.ui.messages.removeAttribute('aria-busy');
  }

  private addNotice(text: string, kind: string): void {
    const atBottom = this.isAtBottom();
    this.ui.messages.append(element('li', { className: `message ${kind}`, attributes: { 'data-testid': kind } }, element('div', { className: 'text', text })));
    if (atBottom) this.ui.messages.scrollTop = this.ui.messages.scrollHeight;
  }

  private isAtBottom(): boolean {
    const list = this.ui.messages;
    return list.scrollHeight - list.scrollTop - list.clientHeight < AT_BOTTOM_WITHIN_PX;
  }

  /** One page of history (newest first) before `before`, or the newest page. */
  private async loadPage(before: number | undefined): Promise<number> {
    const target = this.target;
    if (!target) return 0;
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
    if (before !== undefined) query.set('before', String(before));
    const page = await requestJson<HistoryPage>('GET', sessionPath(target.sessionId, `/messages?${query}`), { credential: target.credential });
    if (this.target !== target) return 0;
    let added = 0;
    for (const message of page.messages) {
      const placement = this.log.upsert(message);
      if (placement.added) added++;
      this.render(placement);
    }
    this.olderCursor = page.hasMore ? page.cursors.before : null;
    this.log.floor = this.olderCursor;
    if (this.olderCursor === null && document.activeElement === this.ui.loadOlder) {
      // The button goes away with the last page: the focus goes to the messages it loaded.
      this.ui.messages.focus();
    }
    this.ui.loadOlder.hidden = this.olderCursor === null;
    return added;
  }

  /**
   * The next older page, prepended without moving what the reader sees: the distance from the
   * bottom of the list is kept (the list opts out of the browser's own scroll anchoring, so the
   * two cannot both correct). One load at a time.
   */
  private loadOlder(): Promise<void> {
    if (this.olderCursor === null || this.final || !this.target) return Promise.resolve();
    this.loadingOlder ??= (async () => {
      const list = this.ui.messages;
      const fromBottom = list.scrollHeight - list.scrollTop;
      try {
        const added = await this.loadPage(this.olderCursor ?? undefined);
        list.scrollTop = list.scrollHeight - fromBottom;
        // One short sentence, not fifty messages read out.
        if (added > 0) announce(`${added} older message${added === 1 ? '' : 's'} loaded${this.olderCursor === null ? ': the start of the conversation' : ''}.`);
      } catch (error) {
        this.failed(error);
      } finally {
        this.loadingOlder = null;
      }
    })();
    return this.loadingOlder;
  }

  /** Loads older pages until the list can scroll (or history is complete). */
  private async fillViewport(): Promise<void> {
    const list = this.ui.messages;
    while (this.olderCursor !== null && this.target && !this.final && list.scrollHeight <= list.clientHeight) {
      const before = this.olderCursor;
      await this.loadOlder();
      if (this.olderCursor === before) return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sending: transport "sse", the reply streams back in the answer

  private async send(): Promise<void> {
    const target = this.target;
    const content = this.ui.input.value;
    // Whitespace-only text goes to the server, which says why it is refused.
    if (!target || this.final || this.sending || content === '') return;
    this.ctx.clearError();
    this.sending = true;
    let replyId: string | null = null;
    await whileBusy(this.ui.send, async () => {
      try {
        const response = await request('POST', sessionPath(target.sessionId, '/messages'), {
          credential: target.credential,
          body: { content, transport: 'sse' },
          headers: { accept: 'text/event-stream' },
        });
        if (this.target !== target) return;
        this.ui.input.value = '';
        if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
          await readEventStream(response, (frame) => {
            if (this.target !== target) return;
            const data = frameJson(frame) as Record<string, unknown> | undefined;
            if (!data) return;
            if (frame.event === 'user_message') {
              this.live({ ...(data as unknown as MessageView), isAgent: false });
              this.applyInfo(data.sessionStatus as SessionStatus | undefined);
            } else if (frame.event === 'chunk') {
              const { messageId, index, chunk } = data as { messageId: string; index: number; chunk: string };
              replyId = messageId;
              const placement = this.log.chunk(messageId, index, String(chunk));
              if (placement) this.render(placement);
            } else if (frame.event === 'done') {
              this.live(data.message as MessageView);
              this.applyInfo(data.sessionStatus as SessionStatus | undefined);
            } else if (frame.event === 'error') {
              const failed = replyId ? this.log.fail(replyId) : undefined;
              if (failed) this.render({ entry: failed, before: null, added: false, moved: false });
              const text = `Agent error: ${String(data.code ?? 'ERROR')}: ${String(data.message ?? '')}`;
              this.addNotice(text, 'agent-error');
              announce(text);
            }
          });
        } else {
          // A JSON answer (a replay): the user message, and the reply if it came with it.
          const body = (await response.json()) as SendMessageResponse;
          this.live({ ...body.userMessage, isAgent: false });
          this.applyInfo(body.sessionStatus);
          const reply = body.agentResponse;
          if (reply) this.live({ id: reply.id, content: reply.text, createdAt: reply.createdAt, isAgent: true, authorId: '', metadata: {}, attachments: [] });
        }
      } catch (error) {
        if (this.target === target) this.failed(error);
      } finally {
        this.sending = false;
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Live events

  private startEvents(lastEventId: string): void {
    const target = this.target;
    if (!target) return;
    this.stream = new SessionEventStream({
      sessionId: target.sessionId,
      credential: target.credential,
      lastEventId,
      onEvent: (event) => this.onEvent(event),
      onEventId: (id) => tabStorage.set('lastEventId', `${target.sessionId}:${id}`),
      onState: (state: StreamState) => {
        if (this.target === target && !this.final) this.ui.streamState.textContent = state;
      },
      onRefused: (error) => {
        if (this.target === target) this.failed(error);
      },
    });
  }

  private onEvent(event: SessionEvent): void {
    if (!this.target || event.sessionId !== this.target.sessionId) return;
    const at = Date.parse(event.at);
    this.ctx.clock.atLeast(at);
    switch (event.type) {
      case 'message.created': {
        const message = (event.data as { message?: MessageView } | undefined)?.message;
        // Older than the history shown: paging back will bring it.
        if (!message || !this.log.acceptsLive(message)) return;
        this.live(message);
        return;
      }
      case 'session.warning':
        // A warning caught up late may already describe an expired session.
        if (this.applyInfo(event.data as SessionInfo, { at })) this.showWarning();
        return;
      case 'session.renewed':
        this.applyInfo(event.data as SessionInfo, { at });
        return;
      case 'session.expired':
        this.applyInfo(event.data as SessionInfo, { at });
        this.setFinal('expired');
        return;
      case 'session.ended':
        this.setFinal('ended');
        return;
      default:
        // message.chunk: this tab streams its own replies from the send answer; a reply sent
        // from elsewhere appears whole with its message.created.
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Failures and actions

  private failed(error: unknown): void {
    if (isAbort(error)) return;
    const target = this.target;
    if (!(error instanceof ApiError) || !target) {
      this.ctx.failed(error);
      return;
    }
    this.ctx.showError(error);
    if (error.status === 410) {
      this.setFinal('expired');
      return;
    }
    const tokenRefused = error.credential === 'token' && (error.status === 401 || error.status === 403 || error.code === 'SESSION_NOT_FOUND');
    if (tokenRefused) {
      // The token does not open this session (any more): ask again.
      this.close();
      tabStorage.remove('sessionId', 'sessionToken', 'lastEventId');
      this.ctx.show(this.ctx.apiKey() ? 'sessions' : 'credentials');
      return;
    }
    if (error.credential === 'key' && error.code === 'SESSION_NOT_FOUND') {
      this.setFinal('ended');
      return;
    }
    this.ctx.failed(error);
  }

  private async action(button: HTMLButtonElement, method: string, suffix: string): Promise<void> {
    const target = this.target;
    if (!target || this.final || isBusy(button)) return;
    this.ctx.clearError();
    await whileBusy(button, async () => {
      try {
        const answer = await requestJson<SessionInfo | { success: true }>(method, sessionPath(target.sessionId, suffix), { credential: target.credential });
        if (this.target !== target) return;
        if (method === 'DELETE') this.setFinal('ended');
        else {
          this.applyInfo(answer as SessionInfo, { fresh: true });
          const info = answer as SessionInfo;
          announce(`${suffix === '/renew' ? 'Renewed' : 'Heartbeat sent'}: the session expires in ${describeDuration(info.timeRemaining)}.`);
        }
      } catch (error) {
        if (this.target === target) this.failed(error);
      }
    });
  }

  private bind(): void {
    const { ui } = this;
    ui.sendForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.send();
    });
    ui.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.send();
      }
    });
    ui.renew.addEventListener('click', () => void this.action(ui.renew, 'POST', '/renew'));
    ui.warningRenew.addEventListener('click', () => void this.action(ui.warningRenew, 'POST', '/renew'));
    ui.heartbeat.addEventListener('click', () => void this.action(ui.heartbeat, 'POST', '/heartbeat'));
    ui.end.addEventListener('click', () => {
      if (!this.target || this.final || isBusy(ui.end)) return;
      if (!confirm(`End session ${this.target.sessionId}? It and its messages are deleted.`)) return;
      void this.action(ui.end, 'DELETE', '');
    });
    ui.loadOlder.addEventListener('click', () => {
      if (isBusy(ui.loadOlder)) return;
      void whileBusy(ui.loadOlder, () => this.loadOlder());
    });
    ui.messages.addEventListener('scroll', () => {
      if (ui.messages.scrollTop < LOAD_OLDER_WITHIN_PX) void this.loadOlder();
    });
    ui.back.addEventListener('click', () => {
      this.ctx.clearError();
      this.leave();
      this.ctx.show('sessions');
    });
    ui.newSession.addEventListener('click', () => {
      this.ctx.clearError();
      this.leave();
      this.ctx.show(this.ctx.apiKey() ? 'new-session' : 'credentials');
    });
    ui.copyLink.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(ui.shareLink.value);
        ui.copyLink.textContent = 'Copied';
      } catch {
        ui.shareLink.select();
        ui.copyLink.textContent = 'Press Ctrl+C';
      }
      window.setTimeout(() => {
        ui.copyLink.textContent = 'Copy';
      }, 2000);
    });
  }

  /** Leaves the session for another view: this tab no longer holds it. */
  leave(): void {
    this.close();
    tabStorage.remove('sessionId', 'sessionToken', 'lastEventId');
  }

  /** The credential of the open session, or null. */
  get credential(): Credential | null {
    return this.target?.credential ?? null;
  }
}
