// agent-sessions web app: try the Sessions API in a browser (docs/web-app.md).
// Plain ES module, no framework, no build step. Security rules followed throughout:
// - credentials live in sessionStorage (this tab only) and travel only in Authorization headers,
//   never in a URL, a cookie or localStorage;
// - every piece of text from the server is shown with textContent, never parsed as HTML.

const API = '/api/messaging/sessions';
const ELIZA_ID = '00000000-0000-4000-8000-000000000001';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HISTORY_PAGE = 50;

// ---------------------------------------------------------------------------------------------
// Elements

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
};
const ui = {
  who: $('who'),
  forget: $('forget'),
  error: $('error'),
  credentials: $('credentials'),
  keyForm: $('key-form'),
  apiKey: $('api-key'),
  tokenForm: $('token-form'),
  tokenSessionId: $('token-session-id'),
  sessionToken: $('session-token'),
  newSession: $('new-session'),
  createForm: $('create-form'),
  agent: $('agent'),
  userId: $('user-id'),
  timeout: $('timeout'),
  create: $('create'),
  session: $('session'),
  warning: $('warning'),
  warningText: $('warning-text'),
  warningRenew: $('warning-renew'),
  final: $('final'),
  sessionId: $('session-id'),
  sessionAgent: $('session-agent'),
  sessionStatus: $('session-status'),
  expiresAt: $('expires-at'),
  countdown: $('countdown'),
  renewalCount: $('renewal-count'),
  streamState: $('stream-state'),
  renew: $('renew'),
  heartbeat: $('heartbeat'),
  end: $('end'),
  newSessionButton: $('new-session-button'),
  share: $('share'),
  shareLink: $('share-link'),
  copyLink: $('copy-link'),
  loadOlder: $('load-older'),
  messages: $('messages'),
  sendForm: $('send-form'),
  messageInput: $('message-input'),
  send: $('send'),
};

// ---------------------------------------------------------------------------------------------
// Tab-scoped storage (sessionStorage only)

const KEYS = {
  apiKey: 'agent-sessions.apiKey',
  sessionId: 'agent-sessions.sessionId',
  sessionToken: 'agent-sessions.sessionToken',
  userId: 'agent-sessions.userId',
  lastEventId: 'agent-sessions.lastEventId',
};
const store = {
  get(name) {
    try {
      return sessionStorage.getItem(KEYS[name]) ?? '';
    } catch {
      return '';
    }
  },
  set(name, value) {
    try {
      sessionStorage.setItem(KEYS[name], value);
    } catch {
      // storage disabled: the page still works until it is reloaded
    }
  },
  remove(name) {
    try {
      sessionStorage.removeItem(KEYS[name]);
    } catch {
      // nothing stored
    }
  },
};

function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // crypto.randomUUID exists only in secure contexts (https, localhost); this is the same thing.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------
// State

const state = {
  /** { id, token } of the open session, or null. */
  session: null,
  /** What is known of the open session (SessionInfo fields, merged as updates arrive). */
  info: {},
  /** 'expired' | 'ended' once the session is over. */
  final: null,
  /** AbortController of the event stream. */
  events: null,
  lastEventId: '',
  /** `before` cursor of the next older history page, or null when there is none. */
  olderCursor: null,
  /** Server time of what the status panel shows (epoch ms), or null. */
  infoAt: null,
  /** Events about messages older than this (epoch ms) are left to "Load older". */
  historyFloor: null,
  sending: false,
  lastExpiryCheck: 0,
  agentNames: new Map(),
};
/** Shown messages by id: { li, textEl, timeEl, createdAt, chunks, complete }. */
const messages = new Map();

// The server's clock may differ from this browser's; countdowns use the server's.
let serverOffset = 0;
const serverNow = () => Date.now() + serverOffset;
function learnServerTime(ms, fresh) {
  if (Number.isFinite(ms) && (fresh || ms > serverNow())) serverOffset = ms - Date.now();
}

// ---------------------------------------------------------------------------------------------
// HTTP

class ApiError extends Error {
  constructor(status, code, message, details, auth) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    /** Which credential the failed request carried: 'key' or 'session'. */
    this.auth = auth;
  }
}

/** A fetch with the credential named by `auth` ('key' or 'session') as a Bearer header. */
async function api(method, path, { auth, body, headers = {}, signal } = {}) {
  const credential = auth === 'key' ? store.get('apiKey') : state.session?.token;
  if (!credential) throw new ApiError(401, 'UNAUTHORIZED', 'No credentials: paste an API key or a session token', undefined, auth);
  const init = {
    method,
    headers: { accept: 'application/json', ...headers, authorization: `Bearer ${credential}` },
    cache: 'no-store',
    credentials: 'omit',
    signal,
  };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK_ERROR', 'The server could not be reached', undefined, auth);
  }
  if (!response.ok) throw await errorOf(response, auth);
  return response;
}

async function apiJson(method, path, options) {
  const response = await api(method, path, options);
  return response.json();
}

/** The error envelope `{success:false, error:{code, message, details}}` as an ApiError. */
async function errorOf(response, auth) {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || 'Request failed';
  let details;
  try {
    const body = await response.json();
    if (body && typeof body.error === 'object' && body.error !== null) {
      if (body.error.code !== undefined) code = String(body.error.code);
      if (body.error.message !== undefined) message = String(body.error.message);
      details = body.error.details;
    }
  } catch {
    // not JSON: keep the status
  }
  return new ApiError(response.status, code, message, details, auth);
}

/**
 * Reads a text/event-stream body frame by frame: `id:`, `event:`, `data:` lines, `:` comments
 * ignored, a blank line ends a frame. `data` is parsed as JSON.
 */
async function readSse(response, onFrame) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let frame = { id: undefined, event: '', data: [] };
  const dispatch = () => {
    const { id, event, data } = frame;
    frame = { id: undefined, event: '', data: [] };
    if (data.length === 0) return;
    const text = data.join('\n');
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    onFrame({ id, event: event || 'message', data: parsed });
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      if (end < 0) break;
      // A CR at the very end may be the first half of CRLF: wait for the next piece.
      if (buffer[end] === '\r' && end === buffer.length - 1) break;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1));
      if (line === '') {
        dispatch();
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let fieldValue = colon < 0 ? '' : line.slice(colon + 1);
      if (fieldValue.startsWith(' ')) fieldValue = fieldValue.slice(1);
      if (field === 'id') frame.id = fieldValue;
      else if (field === 'event') frame.event = fieldValue;
      else if (field === 'data') frame.data.push(fieldValue);
    }
  }
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

const sessionPath = (suffix = '') => `${API}/${encodeURIComponent(state.session.id)}${suffix}`;

// ---------------------------------------------------------------------------------------------
// Errors

function showError(error) {
  let text;
  if (error instanceof ApiError) {
    text = `${error.code}: ${error.message}`;
    if (error.details !== undefined && error.details !== null && error.details !== '') {
      text += ` (${typeof error.details === 'string' ? error.details : JSON.stringify(error.details)})`;
    }
  } else {
    text = `ERROR: ${error?.message ?? String(error)}`;
  }
  ui.error.textContent = text;
  ui.error.hidden = false;
}

function clearError() {
  ui.error.textContent = '';
  ui.error.hidden = true;
}

/** What an API failure means for the page; the error is always shown. */
function handleFailure(error) {
  if (error?.name === 'AbortError') return;
  if (!(error instanceof ApiError)) console.error(error);
  showError(error);
  if (!(error instanceof ApiError)) return;
  if (error.auth === 'key' && error.status === 401) {
    // A bad or revoked key: ask again.
    store.remove('apiKey');
    if (!state.session) showView();
    return;
  }
  if (error.auth === 'session' && state.session) {
    if (error.status === 410) setFinal('expired');
    else if (error.status === 401 || error.status === 403 || error.code === 'SESSION_NOT_FOUND') {
      // The token does not open this session (any more): ask again.
      closeSession();
      showView();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Views

/** Shows the credentials form, the new-session form or the open session. */
function showView() {
  const hasKey = store.get('apiKey') !== '';
  ui.credentials.hidden = hasKey || state.session !== null;
  ui.newSession.hidden = !hasKey || state.session !== null;
  ui.session.hidden = state.session === null;
  ui.forget.hidden = !hasKey && state.session === null;
  if (state.session) ui.who.textContent = hasKey ? 'API key stored; this session uses its own token' : 'Using a session token';
  else ui.who.textContent = hasKey ? 'Using an API key' : 'No credentials yet';
  if (hasKey && !state.session) void loadAgents();
  if (!hasKey && !state.session) ui.apiKey.focus();
}

async function loadAgents() {
  try {
    const { agents } = await apiJson('GET', '/api/agents', { auth: 'key' });
    const previous = ui.agent.value;
    ui.agent.replaceChildren();
    for (const agent of agents) {
      state.agentNames.set(agent.id, agent.name);
      const option = document.createElement('option');
      option.value = agent.id;
      option.textContent = `${agent.name} (${agent.provider?.type ?? 'unknown'})`;
      ui.agent.append(option);
    }
    const preferred = [previous, ELIZA_ID].find((id) => agents.some((a) => a.id === id));
    if (preferred) ui.agent.value = preferred;
    ui.create.disabled = agents.length === 0;
  } catch (error) {
    handleFailure(error);
  }
}

function ensureUserId() {
  let userId = store.get('userId');
  if (!UUID_RE.test(userId)) {
    userId = uuid();
    store.set('userId', userId);
  }
  ui.userId.value = userId;
}

// ---------------------------------------------------------------------------------------------
// The open session

async function openSession(info) {
  const id = store.get('sessionId');
  const token = store.get('sessionToken');
  const saved = store.get('lastEventId');
  resetSession();
  if (!id || !token) return showView();
  state.session = { id, token };
  state.lastEventId = saved.startsWith(`${id}:`) ? saved.slice(id.length + 1) : '';
  setControlsEnabled(true);
  ui.final.hidden = true;
  ui.warning.hidden = true;
  ui.sessionId.textContent = id;
  ui.sessionAgent.textContent = '';
  ui.sessionStatus.textContent = '';
  ui.expiresAt.textContent = '';
  ui.expiresAt.removeAttribute('datetime');
  ui.countdown.textContent = '';
  ui.renewalCount.textContent = '';
  ui.newSessionButton.hidden = true;
  const link = new URL(location.pathname, location.origin);
  link.hash = `session=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}`;
  ui.shareLink.value = link.href;
  ui.share.hidden = false;
  showView();
  const opened = state.session;
  // Another session may have been opened (or this one forgotten) while an answer was awaited.
  const stillOpen = () => state.session === opened && !state.final;
  try {
    const current = info ?? (await apiJson('GET', sessionPath(), { auth: 'session' }));
    if (state.session !== opened) return;
    applyInfo(current, { fresh: true });
    if (!stillOpen()) return;
    await loadHistory();
    if (!stillOpen()) return;
    ui.messages.scrollTop = ui.messages.scrollHeight;
    startEvents();
  } catch (error) {
    if (state.session === opened) handleFailure(error);
  }
}

/** Closes the open session's panel and stream (what is stored stays). */
function resetSession() {
  stopEvents();
  state.session = null;
  state.info = {};
  state.infoAt = null;
  state.final = null;
  state.olderCursor = null;
  state.historyFloor = null;
  state.lastEventId = '';
  messages.clear();
  ui.messages.replaceChildren();
  ui.loadOlder.hidden = true;
}

/** Forgets the open session, its token included (not the API key). */
function closeSession() {
  resetSession();
  store.remove('sessionId');
  store.remove('sessionToken');
  store.remove('lastEventId');
}

/**
 * Takes SessionInfo fields (or the `sessionStatus` subset) into the status panel. `fresh`: a
 * direct answer of the server (it tells the server's time); `at`: the server time of an event,
 * which is ignored when older than what the panel shows (a replayed backlog). Returns whether
 * the panel took it.
 */
function applyInfo(info, { fresh = false, at } = {}) {
  if (!info || typeof info !== 'object') return false;
  if (at !== undefined) {
    if (state.infoAt !== null && at < state.infoAt) return false;
    state.infoAt = at;
  }
  if (fresh && typeof info.timeRemaining === 'number' && info.timeRemaining > 0 && info.expiresAt) {
    const serverTime = Date.parse(info.expiresAt) - info.timeRemaining;
    learnServerTime(serverTime, true);
    state.infoAt = serverTime;
  }
  state.info = { ...state.info, ...info };
  const current = state.info;
  if (current.agentId) ui.sessionAgent.textContent = state.agentNames.get(current.agentId) ?? current.agentId;
  if (current.status) ui.sessionStatus.textContent = state.final ?? current.status;
  if (current.expiresAt) {
    ui.expiresAt.dateTime = current.expiresAt;
    ui.expiresAt.textContent = new Date(current.expiresAt).toLocaleString();
    ui.expiresAt.title = current.expiresAt;
  }
  if (current.renewalCount !== undefined) ui.renewalCount.textContent = String(current.renewalCount);
  if (current.status === 'expired') {
    setFinal('expired');
    return true;
  }
  if (info.isNearExpiration === true) ui.warning.hidden = false;
  else if (info.isNearExpiration === false) ui.warning.hidden = true;
  tick();
  return true;
}

function formatDuration(ms) {
  const total = Math.ceil(Math.max(0, ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Once a second: the countdown, the warning text, and a check when time has run out. */
function tick() {
  if (!state.session || !state.info.expiresAt || state.final) return;
  const left = Date.parse(state.info.expiresAt) - serverNow();
  ui.countdown.textContent = formatDuration(left);
  ui.warningText.textContent = `This session expires in ${formatDuration(left)}. Renew it to keep it open.`;
  // The server says so within a second (session.expired); this covers a broken event stream.
  if (left <= 0 && Date.now() - state.lastExpiryCheck > 5000) {
    state.lastExpiryCheck = Date.now();
    apiJson('GET', sessionPath(), { auth: 'session' })
      .then((info) => applyInfo(info, { fresh: true }))
      .catch(handleFailure);
  }
}

function setControlsEnabled(enabled) {
  for (const control of [ui.messageInput, ui.send, ui.renew, ui.heartbeat, ui.end, ui.warningRenew, ui.loadOlder]) {
    control.disabled = !enabled;
  }
}

/** The session is over: say so, disable everything that would act on it. */
function setFinal(kind) {
  if (state.final || !state.session) return;
  state.final = kind;
  stopEvents();
  setControlsEnabled(false);
  ui.warning.hidden = true;
  ui.share.hidden = true;
  ui.sessionStatus.textContent = kind;
  ui.countdown.textContent = kind === 'expired' ? '0:00 (expired)' : '–';
  ui.final.textContent =
    kind === 'expired'
      ? 'This session has expired. It can no longer be used.'
      : 'This session has ended. It and its messages were deleted.';
  ui.final.hidden = false;
  ui.streamState.textContent = 'closed';
  ui.newSessionButton.textContent = store.get('apiKey') ? 'New session' : 'Open another session';
  ui.newSessionButton.hidden = false;
  // Its token is of no further use.
  store.remove('sessionId');
  store.remove('sessionToken');
  store.remove('lastEventId');
}

// ---------------------------------------------------------------------------------------------
// Messages

function createEntry(id, isAgent) {
  const li = document.createElement('li');
  li.className = isAgent ? 'message agent' : 'message user';
  li.dataset.messageId = id;
  li.dataset.testid = 'message';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const who = document.createElement('span');
  who.className = 'author';
  who.textContent = isAgent ? state.agentNames.get(state.info.agentId) ?? 'Agent' : 'You';
  const timeEl = document.createElement('time');
  meta.append(who, ' ', timeEl);
  const textEl = document.createElement('div');
  textEl.className = 'text';
  li.append(meta, textEl);
  const entry = { li, textEl, timeEl, createdAt: null, chunks: null, complete: false };
  messages.set(id, entry);
  return entry;
}

/** Puts an entry in createdAt order; entries still streaming (no createdAt) stay last. */
function place(entry) {
  const atBottom = isAtBottom();
  if (entry.createdAt === null) {
    if (entry.li.parentNode !== ui.messages) ui.messages.append(entry.li);
  } else {
    const at = Date.parse(entry.createdAt);
    let next = null;
    for (const li of ui.messages.children) {
      if (li === entry.li) continue;
      const other = messages.get(li.dataset.messageId);
      if (!other || other.createdAt === null || Date.parse(other.createdAt) > at) {
        next = li;
        break;
      }
    }
    if (entry.li.nextSibling !== next || entry.li.parentNode !== ui.messages) ui.messages.insertBefore(entry.li, next);
  }
  if (atBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function isAtBottom() {
  const list = ui.messages;
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

/** A complete message (history, event, or the end of a stream); shown once per id. */
function upsertMessage(message) {
  if (!message || typeof message.id !== 'string') return;
  let entry = messages.get(message.id);
  if (!entry) entry = createEntry(message.id, message.isAgent === true);
  entry.complete = true;
  entry.chunks = null;
  entry.textEl.textContent = String(message.content ?? '');
  entry.li.classList.remove('streaming');
  updateBusy();
  if (message.createdAt) {
    entry.createdAt = message.createdAt;
    entry.timeEl.dateTime = message.createdAt;
    entry.timeEl.textContent = new Date(message.createdAt).toLocaleTimeString();
  }
  place(entry);
}

/** A piece of an agent reply being streamed to this tab. */
function addChunk(messageId, index, chunk) {
  if (typeof messageId !== 'string' || !Number.isInteger(index) || index < 0) return;
  let entry = messages.get(messageId);
  if (!entry) {
    entry = createEntry(messageId, true);
    entry.chunks = [];
    entry.li.classList.add('streaming');
    updateBusy();
    place(entry);
  }
  if (entry.complete) return;
  entry.chunks[index] = String(chunk);
  entry.textEl.textContent = entry.chunks.join('');
  if (isAtBottom()) ui.messages.scrollTop = ui.messages.scrollHeight;
}

/** Screen readers announce a reply once it is complete, not at every chunk. */
function updateBusy() {
  if (ui.messages.querySelector('.streaming')) ui.messages.setAttribute('aria-busy', 'true');
  else ui.messages.removeAttribute('aria-busy');
}

function addNotice(text, className) {
  const atBottom = isAtBottom();
  const li = document.createElement('li');
  li.className = `message ${className}`;
  li.dataset.testid = className;
  const textEl = document.createElement('div');
  textEl.className = 'text';
  textEl.textContent = text;
  li.append(textEl);
  ui.messages.append(li);
  if (atBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
}

async function loadHistory(before) {
  const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (before !== undefined && before !== null) query.set('before', String(before));
  const session = state.session;
  const page = await apiJson('GET', sessionPath(`/messages?${query}`), { auth: 'session' });
  if (state.session !== session) return;
  // Newest first from the API; place() keeps the list oldest first.
  for (const message of page.messages) upsertMessage(message);
  state.olderCursor = page.hasMore ? page.cursors.before : null;
  state.historyFloor = page.hasMore ? page.cursors.before : null;
  ui.loadOlder.hidden = !page.hasMore;
}

// ---------------------------------------------------------------------------------------------
// Sending (transport "sse": the reply streams back in the answer)

async function sendMessage() {
  const content = ui.messageInput.value;
  // Whitespace-only text goes to the server, which says why it is refused.
  if (!state.session || state.final || state.sending || content === '') return;
  clearError();
  state.sending = true;
  ui.send.disabled = true;
  let replyId = null;
  try {
    const response = await api('POST', sessionPath('/messages'), {
      auth: 'session',
      body: { content, transport: 'sse' },
      headers: { accept: 'text/event-stream' },
    });
    ui.messageInput.value = '';
    if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await readSse(response, ({ event, data }) => {
        if (event === 'user_message') {
          upsertMessage({ ...data, isAgent: false });
          applyInfo(data.sessionStatus);
        } else if (event === 'chunk') {
          replyId = data.messageId;
          addChunk(data.messageId, data.index, data.chunk);
        } else if (event === 'done') {
          upsertMessage(data.message);
          applyInfo(data.sessionStatus);
        } else if (event === 'error') {
          const partial = replyId && messages.get(replyId);
          if (partial && !partial.complete) {
            partial.li.classList.replace('streaming', 'failed');
            updateBusy();
          }
          addNotice(`Agent error: ${data?.code ?? 'ERROR'}: ${data?.message ?? ''}`, 'agent-error');
        }
      });
    } else {
      // A JSON answer (e.g. a replay): the user message, and the reply if it came with it.
      const body = await response.json();
      upsertMessage({ ...body, isAgent: false });
      applyInfo(body.sessionStatus);
      if (body.agentResponse) upsertMessage({ id: body.agentResponse.id, content: body.agentResponse.text, createdAt: body.agentResponse.createdAt, isAgent: true });
    }
  } catch (error) {
    handleFailure(error);
  } finally {
    state.sending = false;
    if (!state.final && state.session) {
      ui.send.disabled = false;
      ui.messageInput.focus();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Live events: GET …/events read with fetch (the token stays in a header), resumed with
// Last-Event-ID after a disconnect.

function startEvents() {
  stopEvents();
  const controller = new AbortController();
  state.events = controller;
  void runEvents(controller.signal);
}

function stopEvents() {
  state.events?.abort();
  state.events = null;
}

async function runEvents(signal) {
  let delay = 1000;
  while (!signal.aborted && state.session && !state.final) {
    ui.streamState.textContent = state.lastEventId ? 'reconnecting…' : 'connecting…';
    try {
      const headers = { accept: 'text/event-stream' };
      if (state.lastEventId) headers['last-event-id'] = state.lastEventId;
      const response = await api('GET', sessionPath('/events'), { auth: 'session', headers, signal });
      ui.streamState.textContent = 'live';
      await readSse(response, (frame) => {
        if (signal.aborted) return;
        if (frame.id) {
          state.lastEventId = frame.id;
          store.set('lastEventId', `${state.session.id}:${frame.id}`);
        }
        delay = 1000;
        onEvent(frame);
      });
    } catch (error) {
      if (signal.aborted) return;
      // Refusals are final (401, 403, 404, 410); outages and rate limits are retried.
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
        handleFailure(error);
        return;
      }
    }
    if (signal.aborted || state.final) return;
    ui.streamState.textContent = 'reconnecting…';
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 15_000);
  }
}

function onEvent({ event, data: ev }) {
  if (!ev || typeof ev !== 'object') return;
  const at = typeof ev.at === 'string' ? Date.parse(ev.at) : undefined;
  if (at !== undefined) learnServerTime(at, false);
  const data = ev.data ?? {};
  switch (event) {
    case 'message.created': {
      const message = data.message;
      if (!message) return;
      // Older than the history shown: "Load older" will bring it.
      if (state.historyFloor !== null && Date.parse(message.createdAt) < state.historyFloor) return;
      upsertMessage(message);
      return;
    }
    case 'session.warning':
      // A warning caught up late may already describe an expired session.
      if (applyInfo(data, { at }) && !state.final) ui.warning.hidden = false;
      return;
    case 'session.renewed':
      applyInfo(data, { at });
      return;
    case 'session.expired':
      applyInfo(data, { at });
      setFinal('expired');
      return;
    case 'session.ended':
      setFinal('ended');
      return;
    default:
      // message.chunk: this tab streams its own replies from the send answer; replies sent
      // from elsewhere appear whole with their message.created.
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Actions

async function sessionAction(button, method, suffix) {
  if (!state.session || state.final) return;
  clearError();
  button.disabled = true;
  try {
    const response = await apiJson(method, sessionPath(suffix), { auth: 'session' });
    if (method === 'DELETE') setFinal('ended');
    else applyInfo(response, { fresh: true });
  } catch (error) {
    handleFailure(error);
  } finally {
    if (!state.final && state.session) button.disabled = false;
  }
}

function readFragment() {
  if (location.hash.length < 2) return;
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has('session') && !params.has('token')) return;
  // Out of the address bar and the history at once, whatever happens next.
  history.replaceState(null, '', location.pathname + location.search);
  const id = params.get('session') ?? '';
  const token = params.get('token') ?? '';
  if (id && token) {
    // A link must not silently swap the session this tab is in: whoever made the link could
    // read everything typed into theirs.
    const current = store.get('sessionId');
    if (current && current !== id && !confirm(`Open session ${id} from this link? This tab leaves session ${current}.`)) return;
    store.set('sessionId', id);
    store.set('sessionToken', token);
    store.remove('lastEventId');
  } else {
    showError(new ApiError(0, 'INVALID_LINK', 'A session link needs both #session=<id> and &token=<ast_…>'));
  }
}

function bind() {
  ui.keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = ui.apiKey.value.trim();
    if (!key) return;
    if (key.startsWith('ast_')) {
      showError(new ApiError(0, 'INVALID_INPUT', 'That is a session token: paste it below with its session id'));
      return;
    }
    clearError();
    store.set('apiKey', key);
    ui.apiKey.value = '';
    showView();
  });

  ui.tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = ui.tokenSessionId.value.trim();
    const token = ui.sessionToken.value.trim();
    if (!UUID_RE.test(id)) {
      showError(new ApiError(0, 'INVALID_INPUT', 'The session id is a UUID'));
      return;
    }
    clearError();
    store.set('sessionId', id);
    store.set('sessionToken', token);
    store.remove('lastEventId');
    ui.tokenSessionId.value = '';
    ui.sessionToken.value = '';
    void openSession();
  });

  ui.userId.addEventListener('change', () => {
    const value = ui.userId.value.trim();
    if (UUID_RE.test(value)) store.set('userId', value);
  });

  ui.createForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError();
    const body = { agentId: ui.agent.value, userId: ui.userId.value.trim() };
    const timeout = ui.timeout.value.trim();
    if (timeout !== '') body.timeoutConfig = { timeoutMinutes: Number(timeout) };
    ui.create.disabled = true;
    try {
      const created = await apiJson('POST', API, { auth: 'key', body });
      if (UUID_RE.test(body.userId)) store.set('userId', body.userId);
      // From here on the session's own token, not the key: it can do nothing but this session.
      store.set('sessionId', created.sessionId);
      store.set('sessionToken', created.sessionToken);
      store.remove('lastEventId');
      const { sessionToken: _token, ...info } = created;
      await openSession(info);
    } catch (error) {
      handleFailure(error);
    } finally {
      ui.create.disabled = false;
    }
  });

  ui.sendForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void sendMessage();
  });
  ui.messageInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void sendMessage();
    }
  });

  ui.renew.addEventListener('click', () => sessionAction(ui.renew, 'POST', '/renew'));
  ui.warningRenew.addEventListener('click', () => sessionAction(ui.warningRenew, 'POST', '/renew'));
  ui.heartbeat.addEventListener('click', () => sessionAction(ui.heartbeat, 'POST', '/heartbeat'));
  ui.end.addEventListener('click', () => sessionAction(ui.end, 'DELETE', ''));

  ui.loadOlder.addEventListener('click', async () => {
    if (!state.session || state.olderCursor === null) return;
    clearError();
    ui.loadOlder.disabled = true;
    const list = ui.messages;
    const fromBottom = list.scrollHeight - list.scrollTop;
    try {
      await loadHistory(state.olderCursor);
      list.scrollTop = list.scrollHeight - fromBottom;
    } catch (error) {
      handleFailure(error);
    } finally {
      if (!state.final) ui.loadOlder.disabled = false;
    }
  });

  ui.newSessionButton.addEventListener('click', () => {
    clearError();
    closeSession();
    showView();
  });

  ui.copyLink.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(ui.shareLink.value);
      ui.copyLink.textContent = 'Copied';
    } catch {
      ui.shareLink.select();
      ui.copyLink.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => {
      ui.copyLink.textContent = 'Copy';
    }, 2000);
  });

  ui.forget.addEventListener('click', () => {
    closeSession();
    store.remove('apiKey');
    clearError();
    ui.agent.replaceChildren();
    showView();
  });
}

// ---------------------------------------------------------------------------------------------
// Start

readFragment();
bind();
ensureUserId();
setInterval(tick, 1000);
if (store.get('sessionId') && store.get('sessionToken')) void openSession();
else showView();
document.documentElement.dataset.ready = 'true';
