/**
 * The chat view: one session's status panel (expiry, countdown, renewals, live state), its
 * actions, and its conversation (views/conversation.ts). Sending streams the reply
 * (`transport: "sse"`); Stop cancels it. The session's events arrive over its event stream.
 */
import { request, requestJson, sessionPath, type Credential } from '../api/client.js';
import { ApiError, isAbort } from '../api/errors.js';
import type {
  CancelAnswer,
  HistoryPage,
  MessageView,
  ReplyPolicy,
  SendMessageResponse,
  SessionEvent,
  SessionInfo,
  SessionStatus,
} from '../api/types.js';
import { SessionEventStream, type StreamState } from '../chat/event-stream.js';
import { downloadTranscript, type ExportFormat } from '../chat/export.js';
import { announce, byId, disableControls, isBusy, whileBusy } from '../dom.js';
import { sessionLink } from '../links.js';
import { frameJson } from '../sse/parser.js';
import { readEventStream } from '../sse/read.js';
import { tabStorage } from '../storage.js';
import { describeDuration, formatCountdown } from '../time/format.js';
import { serverTimeOf } from '../time/server-clock.js';
import type { AppContext, ChatTarget } from './context.js';
import { Conversation } from './conversation.js';

const HISTORY_PAGE = 50;

/** The session's reply policy (SPEC §10) in the words of the status panel. */
const REPLY_POLICY_TEXT: Record<ReplyPolicy, string> = {
  enqueue: 'enqueue: a new message waits for the reply under way',
  reject: 'reject: no new message while the agent replies',
  interrupt: 'interrupt: a new message stops the reply under way',
};

type Final = 'expired' | 'ended';

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
    stop: byId<HTMLButtonElement>('stop'),
    replyPolicy: byId('reply-policy'),
    exportFormat: byId<HTMLSelectElement>('export-format'),
    exportButton: byId<HTMLButtonElement>('export-button'),
  };

  private target: ChatTarget | null = null;
  private info: Partial<SessionInfo> = {};
  /** Server time of what the status panel shows; older events do not overwrite it. */
  private infoAt: number | null = null;
  private final: Final | null = null;
  private stream: SessionEventStream | null = null;
  private readonly conversation: Conversation;
  private sending = false;
  private warned = false;
  private lastExpiryCheck = 0;

  constructor(private readonly ctx: AppContext) {
    this.conversation = new Conversation({
      list: this.ui.messages,
      loadOlderButton: this.ui.loadOlder,
      agentName: () => (this.info.agentId && this.ctx.agents.name(this.info.agentId)) || 'Agent',
      readPage: (before) => this.readPage(before),
      failed: (error) => this.failed(error),
    });
    this.bind();
  }

  get sessionId(): string | null {
    return this.target?.sessionId ?? null;
  }

  /** Opens `target` (closing whatever was open). */
  async open(target: ChatTarget): Promise<void> {
    this.close();
    this.target = target;
    this.conversation.reset();
    const { ui } = this;
    const saved = tabStorage.get('lastEventId');
    const lastEventId = saved.startsWith(`${target.sessionId}:`) ? saved.slice(target.sessionId.length + 1) : '';
    for (const control of [...this.controls(), ui.exportFormat, ui.exportButton]) control.disabled = false;
    ui.final.hidden = true;
    ui.warning.hidden = true;
    ui.sessionId.textContent = target.sessionId;
    for (const node of [ui.agent, ui.status, ui.expiresAt, ui.countdown, ui.renewals, ui.streamState, ui.replyPolicy])
      node.textContent = '';
    this.showStop(false);
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
      await this.conversation.start();
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
    this.warned = false;
    this.conversation.reset();
    this.conversation.stop();
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
  private applyInfo(
    info: Partial<SessionInfo> | SessionStatus | undefined,
    { fresh = false, at }: { fresh?: boolean; at?: number } = {},
  ): boolean {
    if (!info || typeof info !== 'object') return false;
    if (at !== undefined && Number.isFinite(at)) {
      if (this.infoAt !== null && at < this.infoAt) return false;
      this.infoAt = at;
    }
    if (fresh) {
      const serverTime = serverTimeOf(info);
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
    if (current.replyPolicy) ui.replyPolicy.textContent = REPLY_POLICY_TEXT[current.replyPolicy] ?? current.replyPolicy;
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
    return [ui.input, ui.send, ui.stop, ui.renew, ui.heartbeat, ui.end, ui.warningRenew, ui.loadOlder];
  }

  /** The session is over: say so, disable everything that would act on it. */
  private setFinal(kind: Final): void {
    if (this.final || !this.target) return;
    this.final = kind;
    this.conversation.stop();
    this.stream?.close();
    this.stream = null;
    const { ui } = this;
    ui.final.textContent =
      kind === 'expired'
        ? 'This session has expired. It can no longer be used.'
        : 'This session has ended. It and its messages were deleted.';
    ui.final.hidden = false;
    // An expired session can still be exported (until it is purged); an ended one is gone.
    disableControls(kind === 'ended' ? [...this.controls(), ui.exportFormat, ui.exportButton] : this.controls(), ui.final);
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
  // History

  /** One page of the open session's history; null when another session was opened meanwhile. */
  private async readPage(before: number | undefined): Promise<HistoryPage | null> {
    const target = this.target;
    if (!target) return null;
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
    if (before !== undefined) query.set('before', String(before));
    const page = await requestJson<HistoryPage>('GET', sessionPath(target.sessionId, `/messages?${query}`), {
      credential: target.credential,
    });
    return this.target === target ? page : null;
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
          this.showStop(true);
          await readEventStream(response, (frame) => {
            if (this.target !== target) return;
            const data = frameJson(frame) as Record<string, unknown> | undefined;
            if (!data) return;
            if (frame.event === 'user_message') {
              this.conversation.live({ ...(data as unknown as MessageView), isAgent: false });
              this.applyInfo(data.sessionStatus as SessionStatus | undefined);
            } else if (frame.event === 'chunk') {
              const { messageId, index, chunk } = data as { messageId: string; index: number; chunk: string };
              replyId = messageId;
              this.conversation.chunk(messageId, index, String(chunk));
            } else if (frame.event === 'done') {
              this.conversation.live(data.message as MessageView);
              this.applyInfo(data.sessionStatus as SessionStatus | undefined);
            } else if (frame.event === 'error') {
              if (replyId) this.conversation.fail(replyId);
              const stopped = data.code === 'AGENT_CANCELLED';
              const code = typeof data.code === 'string' ? data.code : 'ERROR';
              const message = typeof data.message === 'string' ? data.message : '';
              const text = stopped ? 'The reply was stopped.' : `Agent error: ${code}: ${message}`;
              this.conversation.notice(text, stopped ? 'reply-stopped' : 'agent-error');
              announce(text);
            }
          });
        } else {
          // A JSON answer (a replay): the user message, and the reply if it came with it.
          const body = (await response.json()) as SendMessageResponse;
          this.conversation.live({ ...body.userMessage, isAgent: false });
          this.applyInfo(body.sessionStatus);
          const reply = body.agentResponse;
          if (reply)
            this.conversation.live({
              id: reply.id,
              content: reply.text,
              createdAt: reply.createdAt,
              isAgent: true,
              authorId: '',
              metadata: {},
              attachments: [],
            });
        }
      } catch (error) {
        if (this.target === target) this.failed(error);
      } finally {
        this.sending = false;
        this.showStop(false);
      }
    });
  }

  /** The Stop button, shown while this tab's reply streams; its focus goes to the message box after. */
  private showStop(shown: boolean): void {
    const { ui } = this;
    if (!shown && document.activeElement === ui.stop) ui.input.focus();
    ui.stop.hidden = !shown;
  }

  /** Cancels the session's replies (SPEC §10); the streaming send then ends with AGENT_CANCELLED. */
  private async stop(): Promise<void> {
    const target = this.target;
    if (!target || this.final || isBusy(this.ui.stop)) return;
    this.ctx.clearError();
    await whileBusy(this.ui.stop, async () => {
      try {
        await requestJson<CancelAnswer>('POST', sessionPath(target.sessionId, '/cancel'), { credential: target.credential });
      } catch (error) {
        if (this.target === target) this.failed(error);
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
        if (!message || !this.conversation.acceptsLive(message)) return;
        this.conversation.live(message);
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
    const tokenRefused =
      error.credential === 'token' && (error.status === 401 || error.status === 403 || error.code === 'SESSION_NOT_FOUND');
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

  /** Downloads the transcript in the chosen format; an expired session can still be exported. */
  private async exportTranscript(): Promise<void> {
    const target = this.target;
    const { ui } = this;
    if (!target || this.final === 'ended' || isBusy(ui.exportButton)) return;
    this.ctx.clearError();
    const format = ui.exportFormat.value as ExportFormat;
    await whileBusy(ui.exportButton, async () => {
      try {
        const filename = await downloadTranscript(target.sessionId, format, target.credential);
        announce(`Exported as ${filename}.`);
      } catch (error) {
        if (this.target === target) this.failed(error);
      }
    });
  }

  private async action(button: HTMLButtonElement, method: string, suffix: string): Promise<void> {
    const target = this.target;
    if (!target || this.final || isBusy(button)) return;
    this.ctx.clearError();
    await whileBusy(button, async () => {
      try {
        const answer = await requestJson<SessionInfo | { success: true }>(method, sessionPath(target.sessionId, suffix), {
          credential: target.credential,
        });
        if (this.target !== target) return;
        if (method === 'DELETE') this.setFinal('ended');
        else {
          this.applyInfo(answer as SessionInfo, { fresh: true });
          const info = answer as SessionInfo;
          announce(
            `${suffix === '/renew' ? 'Renewed' : 'Heartbeat sent'}: the session expires in ${describeDuration(info.timeRemaining)}.`,
          );
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
    ui.stop.addEventListener('click', () => void this.stop());
    ui.renew.addEventListener('click', () => void this.action(ui.renew, 'POST', '/renew'));
    ui.warningRenew.addEventListener('click', () => void this.action(ui.warningRenew, 'POST', '/renew'));
    ui.heartbeat.addEventListener('click', () => void this.action(ui.heartbeat, 'POST', '/heartbeat'));
    ui.end.addEventListener('click', () => {
      if (!this.target || this.final || isBusy(ui.end)) return;
      if (!confirm(`End session ${this.target.sessionId}? It and its messages are deleted.`)) return;
      void this.action(ui.end, 'DELETE', '');
    });
    ui.exportButton.addEventListener('click', () => void this.exportTranscript());
    ui.loadOlder.addEventListener('click', () => {
      if (isBusy(ui.loadOlder)) return;
      void whileBusy(ui.loadOlder, () => this.conversation.loadOlder());
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
    const copyLink = async (): Promise<void> => {
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
    };
    ui.copyLink.addEventListener('click', () => void copyLink());
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
