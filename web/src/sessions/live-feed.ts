/**
 * Live events of the sessions on screen, over one Socket.IO connection (SPEC §7a): `join` for
 * each visible session, `leave` when it scrolls off the page. The handshake carries the API key
 * in its `auth` payload, never in the URL. The server has no feed of all sessions yet; new
 * sessions are found by the list's own refresh until one exists.
 */
import { io, type Socket } from 'socket.io-client';
import type { SessionEvent, SessionEventType } from '../api/types.js';

const EVENT_TYPES: SessionEventType[] = ['session.warning', 'session.expired', 'session.renewed', 'session.ended', 'message.created'];

export type FeedState = 'connecting' | 'live' | 'offline' | 'refused';

export interface LiveFeedOptions {
  apiKey: string;
  onEvent(event: SessionEvent): void;
  onState(state: FeedState, detail?: string): void;
  /** A session's room was joined (its events now arrive), or left or refused. */
  onJoined(sessionId: string, joined: boolean): void;
}

export class LiveSessionFeed {
  private readonly socket: Socket;
  private readonly joined = new Set<string>();
  private wanted = new Set<string>();

  constructor(private readonly options: LiveFeedOptions) {
    options.onState('connecting');
    this.socket = io({ path: '/socket.io', auth: { token: options.apiKey }, reconnectionDelayMax: 15_000 });
    this.socket.on('connect', () => {
      options.onState('live');
      // A new connection has no rooms: join again everything wanted.
      this.joined.clear();
      this.sync();
    });
    this.socket.on('disconnect', () => {
      for (const id of this.joined) options.onJoined(id, false);
      this.joined.clear();
      options.onState('offline');
    });
    this.socket.on('connect_error', (error: Error & { data?: { error?: { code?: string } } }) => {
      const code = error.data?.error?.code;
      // A refused credential will be refused again: stop instead of retrying forever.
      if (code === 'UNAUTHORIZED' || code === 'FORBIDDEN') {
        this.socket.disconnect();
        options.onState('refused', code);
      } else options.onState('offline');
    });
    for (const type of EVENT_TYPES) {
      this.socket.on(type, (event: SessionEvent) => {
        if (event && typeof event === 'object' && this.wanted.has(event.sessionId)) options.onEvent(event);
      });
    }
  }

  /** The sessions whose events are wanted now (the active ones on screen). */
  watch(sessionIds: Iterable<string>): void {
    this.wanted = new Set(sessionIds);
    this.sync();
  }

  close(): void {
    this.socket.disconnect();
    this.joined.clear();
  }

  private sync(): void {
    if (!this.socket.connected) return;
    for (const id of this.joined) {
      if (!this.wanted.has(id)) {
        this.joined.delete(id);
        this.socket.emit('leave', { sessionId: id });
        this.options.onJoined(id, false);
      }
    }
    for (const id of this.wanted) {
      if (this.joined.has(id)) continue;
      this.joined.add(id);
      this.socket.emit('join', { sessionId: id }, (answer: { ok?: boolean } | undefined) => {
        // Refused (expired meanwhile, gone): forget it, the next refresh shows why.
        if (answer?.ok !== true) this.joined.delete(id);
        if (this.joined.has(id)) this.options.onJoined(id, answer?.ok === true);
      });
    }
  }
}
