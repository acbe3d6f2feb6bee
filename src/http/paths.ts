/** The API's path prefixes, written once: route plugins are registered under them. */
export const SESSIONS_PATH = '/api/messaging/sessions';
export const SEARCH_PATH = '/api/messaging/search';
export const AGENTS_PATH = '/api/agents';
export const KEYS_PATH = '/api/keys';
export const WEBHOOKS_PATH = '/api/webhooks';
