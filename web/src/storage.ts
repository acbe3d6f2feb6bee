/**
 * What the tab remembers, in sessionStorage only: gone when the tab closes, invisible to other
 * tabs; never localStorage, never a cookie. Storage may be disabled: the page then works until
 * it is reloaded.
 */
const KEYS = {
  apiKey: 'agent-sessions.apiKey',
  sessionId: 'agent-sessions.sessionId',
  sessionToken: 'agent-sessions.sessionToken',
  userId: 'agent-sessions.userId',
  lastEventId: 'agent-sessions.lastEventId',
  view: 'agent-sessions.view',
} as const;

export type StoredName = keyof typeof KEYS;

export const tabStorage = {
  get(name: StoredName): string {
    try {
      return sessionStorage.getItem(KEYS[name]) ?? '';
    } catch {
      return '';
    }
  },
  set(name: StoredName, value: string): void {
    try {
      sessionStorage.setItem(KEYS[name], value);
    } catch {
      // storage disabled
    }
  },
  remove(...names: StoredName[]): void {
    for (const name of names) {
      try {
        sessionStorage.removeItem(KEYS[name]);
      } catch {
        // nothing stored
      }
    }
  },
};
