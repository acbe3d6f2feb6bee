/**
 * agent-sessions web app (docs/web-app.md): the views, who shows which, and start-up.
 * Security rules followed throughout: credentials live in sessionStorage (this tab only) and
 * travel only in Authorization headers (or the Socket.IO handshake's auth payload), never in a
 * URL, a cookie or localStorage; every piece of text from the server is set with textContent.
 */
import type { Credential } from './api/client.js';
import { ApiError, describeError, isAbort } from './api/errors.js';
import { AgentDirectory } from './agents.js';
import { byId } from './dom.js';
import { linkQuestion, parseSessionLink } from './links.js';
import { tabStorage } from './storage.js';
import { ServerClock } from './time/server-clock.js';
import { ChatView } from './views/chat-view.js';
import type { AppContext, ChatTarget, ViewName } from './views/context.js';
import { CredentialsView } from './views/credentials-view.js';
import { NewSessionView } from './views/new-session-view.js';
import { SearchPanel } from './views/search-panel.js';
import { SessionsView } from './views/sessions-view.js';

class App implements AppContext {
  readonly clock = new ServerClock();
  readonly agents = new AgentDirectory();
  private readonly ui = {
    nav: byId('nav'),
    navSessions: byId<HTMLButtonElement>('nav-sessions'),
    navNew: byId<HTMLButtonElement>('nav-new'),
    who: byId('who'),
    forget: byId<HTMLButtonElement>('forget'),
    error: byId('error'),
    sections: {
      credentials: byId('credentials'),
      sessions: byId('sessions'),
      'new-session': byId('new-session'),
      chat: byId('session'),
    } satisfies Record<ViewName, HTMLElement>,
  };
  private readonly chat = new ChatView(this);
  private readonly sessions = new SessionsView(this);
  private readonly newSession = new NewSessionView(this);
  private readonly search = new SearchPanel(this);
  private readonly credentials = new CredentialsView(this, () => this.show('sessions', { focus: true }));
  private view: ViewName | null = null;

  apiKey(): Credential | null {
    const value = tabStorage.get('apiKey');
    return value ? { kind: 'key', value } : null;
  }

  show(view: ViewName, { focus = true }: { focus?: boolean } = {}): void {
    const key = this.apiKey();
    // Views that need the key fall back to asking for one.
    if (!key && (view === 'sessions' || view === 'new-session')) view = 'credentials';
    if (view !== 'chat' && this.chat.sessionId !== null) this.chat.leave();
    if (view !== 'sessions') this.sessions.hide();
    const changed = this.view !== view;
    this.view = view;
    for (const [name, section] of Object.entries(this.ui.sections)) section.hidden = name !== view;
    if (view === 'sessions' || view === 'new-session') tabStorage.set('view', view);
    const { ui } = this;
    ui.nav.hidden = key === null;
    for (const [button, name] of [
      [ui.navSessions, 'sessions'],
      [ui.navNew, 'new-session'],
    ] as const) {
      if (name === view) button.setAttribute('aria-current', 'page');
      else button.removeAttribute('aria-current');
    }
    ui.forget.hidden = key === null && view !== 'chat';
    if (view === 'chat') {
      const usesToken = this.chat.credential?.kind === 'token';
      ui.who.textContent = key
        ? usesToken
          ? 'API key stored; this session uses its own token'
          : 'Using the API key'
        : 'Using a session token';
    } else ui.who.textContent = key ? 'Using an API key' : 'No credentials yet';

    if (view === 'sessions') this.sessions.show();
    if (view === 'new-session') this.newSession.show();
    // Keyboard and screen reader users land at the top of what they asked for.
    if (!focus || !changed) return;
    if (view === 'credentials') this.credentials.focus();
    else if (view === 'sessions') this.sessions.focusTitle();
    else if (view === 'new-session') this.newSession.focusTitle();
    else this.chat.focusTitle();
  }

  openChat(target: ChatTarget): void {
    tabStorage.set('sessionId', target.sessionId);
    if (target.credential.kind === 'token') tabStorage.set('sessionToken', target.credential.value);
    else tabStorage.remove('sessionToken');
    if (this.chat.sessionId !== target.sessionId) {
      const saved = tabStorage.get('lastEventId');
      if (!saved.startsWith(`${target.sessionId}:`)) tabStorage.remove('lastEventId');
    }
    void this.chat.open(target);
    this.show('chat');
  }

  showError(error: unknown): void {
    this.ui.error.textContent = describeError(error);
    this.ui.error.hidden = false;
  }

  clearError(): void {
    this.ui.error.textContent = '';
    this.ui.error.hidden = true;
  }

  failed(error: unknown): void {
    if (isAbort(error)) return;
    if (!(error instanceof ApiError)) console.error(error);
    this.showError(error);
    if (error instanceof ApiError && error.credential === 'key' && error.status === 401) {
      // A bad or revoked key: ask again.
      this.forgetKey();
      if (this.view !== 'chat' || this.chat.credential?.kind !== 'token') this.show('credentials');
    }
  }

  private forgetKey(): void {
    tabStorage.remove('apiKey', 'view');
    this.agents.forget();
    this.sessions.reset();
    this.search.reset();
    this.newSession.reset();
  }

  tick(): void {
    this.chat.tick();
    this.sessions.tick();
  }

  /**
   * A `#session=…&token=…` link: out of the address bar and the history at once, whatever
   * happens next; then used only if the reader says so (see links.ts).
   */
  readLink(): void {
    const link = parseSessionLink(location.hash);
    if (link.kind === 'none') return;
    history.replaceState(null, '', location.pathname + location.search);
    if (link.kind === 'invalid') {
      this.showError(new ApiError(0, 'INVALID_LINK', 'A session link needs both #session=<id> and &token=<ast_…>', undefined, undefined));
      return;
    }
    const sessionId = tabStorage.get('sessionId');
    const token = tabStorage.get('sessionToken');
    const question = linkQuestion(link, sessionId ? { sessionId, token } : null);
    if (question === null || !confirm(question)) return;
    tabStorage.set('sessionId', link.sessionId);
    tabStorage.set('sessionToken', link.token);
    tabStorage.remove('lastEventId');
  }

  start(): void {
    this.readLink();
    const { ui } = this;
    ui.navSessions.addEventListener('click', () => {
      this.clearError();
      this.show('sessions');
    });
    ui.navNew.addEventListener('click', () => {
      this.clearError();
      this.show('new-session');
    });
    ui.forget.addEventListener('click', () => {
      this.chat.leave();
      this.forgetKey();
      this.clearError();
      this.show('credentials');
    });
    window.setInterval(() => this.tick(), 1000);

    const sessionId = tabStorage.get('sessionId');
    const token = tabStorage.get('sessionToken');
    const key = this.apiKey();
    if (sessionId && (token || key)) this.openChat({ sessionId, credential: token ? { kind: 'token', value: token } : key! });
    else {
      const stored = tabStorage.get('view');
      this.show(key ? (stored === 'new-session' ? 'new-session' : 'sessions') : 'credentials', { focus: !key });
    }
    document.documentElement.dataset.ready = 'true';
  }
}

new App().start();
