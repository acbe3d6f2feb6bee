/** Asking for a credential: an API key, or one session's id and token. */
import { ApiError } from '../api/errors.js';
import { byId } from '../dom.js';
import { tabStorage } from '../storage.js';
import { isUuid } from '../uuid.js';
import type { AppContext } from './context.js';

export class CredentialsView {
  private readonly ui = {
    keyForm: byId<HTMLFormElement>('key-form'),
    apiKey: byId<HTMLInputElement>('api-key'),
    tokenForm: byId<HTMLFormElement>('token-form'),
    sessionId: byId<HTMLInputElement>('token-session-id'),
    token: byId<HTMLInputElement>('session-token'),
  };

  constructor(
    private readonly ctx: AppContext,
    private readonly onKey: () => void,
  ) {
    this.bind();
  }

  focus(): void {
    this.ui.apiKey.focus();
  }

  private bind(): void {
    const { ui } = this;
    ui.keyForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const key = ui.apiKey.value.trim();
      if (!key) return;
      if (key.startsWith('ast_')) {
        this.ctx.showError(
          new ApiError(0, 'INVALID_INPUT', 'That is a session token: paste it below with its session id', undefined, undefined),
        );
        return;
      }
      this.ctx.clearError();
      tabStorage.set('apiKey', key);
      ui.apiKey.value = '';
      this.onKey();
    });
    ui.tokenForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const sessionId = ui.sessionId.value.trim();
      const token = ui.token.value.trim();
      if (!isUuid(sessionId)) {
        this.ctx.showError(new ApiError(0, 'INVALID_INPUT', 'The session id is a UUID', undefined, undefined));
        return;
      }
      this.ctx.clearError();
      ui.sessionId.value = '';
      ui.token.value = '';
      this.ctx.openChat({ sessionId, credential: { kind: 'token', value: token } });
    });
  }
}
