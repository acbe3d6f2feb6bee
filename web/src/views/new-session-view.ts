/** Creating a session with the API key; from then on the chat uses the session's own token. */
import { requestJson, SESSIONS_PATH } from '../api/client.js';
import type { SessionCreated } from '../api/types.js';
import { byId, element, whileBusy } from '../dom.js';
import { tabStorage } from '../storage.js';
import { isUuid, randomUuid } from '../uuid.js';
import type { AppContext } from './context.js';

const ELIZA_ID = '00000000-0000-4000-8000-000000000001';

export class NewSessionView {
  private readonly ui = {
    title: byId('new-session-title'),
    form: byId<HTMLFormElement>('create-form'),
    agent: byId<HTMLSelectElement>('agent'),
    userId: byId<HTMLInputElement>('user-id'),
    timeout: byId<HTMLInputElement>('timeout'),
    create: byId<HTMLButtonElement>('create'),
  };

  constructor(private readonly ctx: AppContext) {
    this.bind();
  }

  show(): void {
    this.ensureUserId();
    void this.loadAgents();
  }

  focusTitle(): void {
    this.ui.title.focus();
  }

  reset(): void {
    this.ui.agent.replaceChildren();
  }

  private ensureUserId(): void {
    let userId = tabStorage.get('userId');
    if (!isUuid(userId)) {
      userId = randomUuid();
      tabStorage.set('userId', userId);
    }
    this.ui.userId.value = userId;
  }

  private async loadAgents(): Promise<void> {
    const key = this.ctx.apiKey();
    if (!key) return;
    try {
      const agents = await this.ctx.agents.load(key);
      const { agent } = this.ui;
      const previous = agent.value;
      agent.replaceChildren(
        ...agents.map((a) => element('option', { text: `${a.name} (${a.provider?.type ?? 'unknown'})`, attributes: { value: a.id } })),
      );
      const preferred = [previous, ELIZA_ID].find((id) => agents.some((a) => a.id === id));
      if (preferred) agent.value = preferred;
    } catch (error) {
      this.ctx.failed(error);
    }
  }

  private bind(): void {
    const { ui } = this;
    ui.userId.addEventListener('change', () => {
      const value = ui.userId.value.trim();
      if (isUuid(value)) tabStorage.set('userId', value);
    });
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const key = this.ctx.apiKey();
      if (!key) return;
      this.ctx.clearError();
      const body: { agentId: string; userId: string; timeoutConfig?: { timeoutMinutes: number } } = {
        agentId: ui.agent.value,
        userId: ui.userId.value.trim(),
      };
      const timeout = ui.timeout.value.trim();
      if (timeout !== '') body.timeoutConfig = { timeoutMinutes: Number(timeout) };
      void whileBusy(ui.create, async () => {
        try {
          const created = await requestJson<SessionCreated>('POST', SESSIONS_PATH, { credential: key, body });
          if (isUuid(body.userId)) tabStorage.set('userId', body.userId);
          // From here on the session's own token, not the key: it can do nothing but this session.
          const { sessionToken, ...info } = created;
          this.ctx.openChat({ sessionId: created.sessionId, credential: { kind: 'token', value: sessionToken }, info });
        } catch (error) {
          this.ctx.failed(error);
        }
      });
    });
  }
}
