/**
 * Socket.IO on the server's own port (SPEC §7a, §10). A client joins a session's room and
 * receives its events under their type names, `seq` in every payload; with `lastSeq` it first
 * gets the stored events it missed (the same feed as SSE, src/realtime/feed.ts). elizaOS clients
 * join with their room-joining message and receive agent messages as `messageBroadcast`. Each
 * instance holds one fan-out subscription per room it has members in, dropped when the room
 * empties (leave, disconnect, end of session); every member socket has its own ordered feed.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Principal } from '../auth/authenticator.js';
import type { CredentialWatch } from '../auth/credential-watch.js';
import { AppError } from '../domain/errors.js';
import type { SessionEvent } from '../domain/events.js';
import type { MessageView } from '../domain/message.js';
import { envelope } from '../http/errors.js';
import { normaliseId } from '../http/ids.js';
import type { StreamLimits } from '../http/streams.js';
import { describeFailure } from '../http/unavailable.js';
import type { SessionService } from '../services/sessions.js';
import type { Session } from '../domain/session.js';
import { TERMINAL_EVENTS, type EventFeed, type FeedChannel, type SessionFeed } from './feed.js';
import { eventsDelivered } from '../observability/metrics.js';

/** The subset of the authenticator the socket layer needs. */
interface SocketAuth {
  authenticate(token: string | undefined): Promise<Principal>;
  authorize(principal: Principal, scope: 'sessions:read', sessionId?: string): void;
}

export interface SocketDeps {
  sessions: Pick<SessionService, 'findActive' | 'findByChannel' | 'findAgent'>;
  /** The event feed SSE reads too: replay after a seq, then live. */
  feed: EventFeed;
  /** Every handshake and every join is authenticated: there is no socket without credentials. */
  auth: SocketAuth;
  /** The HTTP rate-limit windows: a handshake counts like a request, a join like one on its session. */
  limiter: { chargeSocket(principal: Principal, sessionId?: string): Promise<void> };
  /** Open event streams and Socket.IO connections per credential (SPEC §6). */
  streams: Pick<StreamLimits, 'acquire'>;
  /** Disconnects sockets whose credential has been revoked or has expired since the handshake. */
  credentialWatch: Pick<CredentialWatch, 'watch'>;
  corsOrigins: string[];
  /** False while the instance drains: new connections are refused so clients go elsewhere. */
  accepting?: () => boolean;
}

const handshakeToken = (socket: Socket): string | undefined => {
  const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' ? token : undefined;
};

/** elizaOS's message type for "join this room/channel". */
const ELIZA_ROOM_JOINING = 1;

type Ack = (answer: unknown) => void;

/** What the handshake leaves on a socket: who it authenticated. */
const principalOf = (socket: Socket) => socket.data as { principal?: Principal };

export function attachSocketIo(httpServer: HttpServer, deps: SocketDeps): Server {
  const io = new Server(httpServer, {
    path: '/socket.io',
    cors: deps.corsOrigins.length ? { origin: deps.corsOrigins } : undefined,
    serveClient: false,
    // A refused handshake is a transport error to the client, which retries (through the load
    // balancer, on another instance) instead of giving up as it would on a middleware error.
    allowRequest: (_request, callback) => {
      const open = deps.accepting?.() ?? true;
      callback(open ? null : 'The server is shutting down', open);
    },
  });
  /** Per room (session): the instance's one feed channel, and each member socket's feed. */
  const rooms = new Map<string, { channel: FeedChannel; feeds: Map<string, SessionFeed> }>();

  /** What one socket receives of one session: the event under its type, and elizaOS's broadcast. */
  const emitter = (socket: Socket, session: Session, agentName: string) => (event: SessionEvent) => {
    socket.emit(event.type, event);
    eventsDelivered.inc({ transport: 'socketio' });
    if (event.type === 'message.created') {
      const message = (event.data as { message: MessageView }).message;
      if (message.isAgent) {
        socket.emit('messageBroadcast', {
          id: message.id,
          senderId: message.authorId,
          senderName: agentName,
          text: message.content,
          channelId: session.channelId,
          roomId: session.channelId,
          createdAt: Date.parse(message.createdAt),
          source: 'agent-sessions',
          seq: event.seq,
        });
      }
    }
    if (TERMINAL_EVENTS.has(event.type)) void drop(socket, session.id);
  };

  /** Stops the socket's feed of the session, if it has one. */
  const stopFeed = (socketId: string, sessionId: string): void => {
    const entry = rooms.get(sessionId);
    const feed = entry?.feeds.get(socketId);
    if (!entry || !feed) return;
    entry.channel.drop(feed);
    entry.feeds.delete(socketId);
  };

  /** Stops a socket's feed of a session and takes it out of the room. */
  const drop = async (socket: Socket, sessionId: string): Promise<void> => {
    stopFeed(socket.id, sessionId);
    await socket.leave(sessionId);
  };

  io.of('/').adapter.on('delete-room', (room: string) => {
    rooms.get(room)?.channel.close();
    rooms.delete(room);
  });

  /** Authenticates, counts and limits a handshake; refused ones get the error envelope. */
  const handshake = async (socket: Socket, next: (error?: Error) => void): Promise<void> => {
    try {
      const principal = await deps.auth.authenticate(handshakeToken(socket));
      await deps.limiter.chargeSocket(principal);
      // Last, so that no refusal after it leaves a place taken; given back however the socket ends.
      const release = await deps.streams.acquire(principal);
      socket.once('disconnect', release);
      socket.conn.once('close', release);
      // The connection may have gone while the place was being taken.
      if (socket.conn.readyState === 'closed' || socket.conn.readyState === 'closing') release();
      principalOf(socket).principal = principal;
      next();
    } catch (error) {
      const appError = describeFailure(error);
      next(Object.assign(new Error(appError.code), { data: envelope(appError) }));
    }
  };
  io.use((socket, next) => void handshake(socket, next));

  /**
   * May this socket join `sessionId`? Asked before the session is looked up, so that a refusal
   * says nothing about whether it exists. The credential is checked again (a key revoked since
   * the handshake joins nothing more) and the join is counted like a request on the session.
   */
  const admit = async (socket: Socket, sessionId: string): Promise<void> => {
    const principal = await deps.auth.authenticate(handshakeToken(socket));
    deps.auth.authorize(principal, 'sessions:read', sessionId);
    await deps.limiter.chargeSocket(principal, sessionId);
  };

  /**
   * Subscribes the socket to the session's events: with `lastSeq`, the stored ones after it first
   * (SPEC §10), then the live ones, each once and in order; without, the live ones — counted from
   * the newest event stored now, so that a gap (an announcement lost while Redis was away) is
   * read back from the store like any other.
   */
  const join = async (socket: Socket, session: Session, lastSeq?: number): Promise<void> => {
    const agent = await deps.sessions.findAgent(session);
    // Read before anything is set up: with the store away the join fails (503) and leaves nothing.
    const start = lastSeq ?? (await deps.feed.newestSeq(session.id));
    let entry = rooms.get(session.id);
    if (!entry) rooms.set(session.id, (entry = { channel: deps.feed.channel(session.id), feeds: new Map() }));
    stopFeed(socket.id, session.id);
    const feed = entry.channel.follow(start, emitter(socket, session, agent?.name ?? 'agent'));
    entry.feeds.set(socket.id, feed);
    await socket.join(session.id);
    try {
      await feed.replay();
    } catch (error) {
      // The store went away mid-replay: the join fails whole, the client joins again later.
      await drop(socket, session.id);
      throw error;
    }
  };

  const answer = (ack: unknown, body: unknown) => {
    if (typeof ack === 'function') (ack as Ack)(body);
  };

  io.on('connection', (socket) => {
    const principal = principalOf(socket).principal;
    if (principal) {
      const unwatch = deps.credentialWatch.watch(principal, () => socket.disconnect(true));
      socket.on('disconnect', unwatch);
    }
    socket.on('disconnecting', () => {
      for (const room of socket.rooms) stopFeed(socket.id, room);
    });

    socket.on('join', async (payload: unknown, ack?: unknown) => {
      try {
        const { sessionId: givenId, lastSeq } = (payload ?? {}) as { sessionId?: unknown; lastSeq?: unknown };
        const sessionId = normaliseId(givenId);
        if (typeof sessionId !== 'string') throw new AppError('VALIDATION_ERROR', 'Invalid request', 'sessionId: is required');
        if (lastSeq !== undefined && !(Number.isSafeInteger(lastSeq) && (lastSeq as number) >= 0)) {
          throw new AppError('VALIDATION_ERROR', 'Invalid request', 'lastSeq: must be an integer >= 0');
        }
        await admit(socket, sessionId);
        await join(socket, await deps.sessions.findActive(sessionId), lastSeq as number | undefined);
        answer(ack, { ok: true });
      } catch (error) {
        answer(ack, envelope(describeFailure(error)));
      }
    });

    socket.on('leave', async (payload: unknown, ack?: unknown) => {
      const sessionId = normaliseId((payload as { sessionId?: unknown } | undefined)?.sessionId);
      if (typeof sessionId === 'string') await drop(socket, sessionId);
      answer(ack, { ok: true });
    });

    socket.on('message', async (payload: unknown, ack?: unknown) => {
      const message = payload as { type?: unknown; payload?: { channelId?: unknown; roomId?: unknown } } | undefined;
      if (message?.type !== ELIZA_ROOM_JOINING) return;
      try {
        const channelId = normaliseId(message.payload?.channelId ?? message.payload?.roomId);
        const session = typeof channelId === 'string' ? await deps.sessions.findByChannel(channelId) : undefined;
        // A session token learns nothing about channels of other sessions: unknown ones are
        // refused the same way.
        await admit(socket, session?.id ?? '');
        if (!session) throw new AppError('SESSION_NOT_FOUND', 'No session owns this channel');
        await join(socket, await deps.sessions.findActive(session.id));
        answer(ack, { ok: true });
      } catch (error) {
        answer(ack, envelope(describeFailure(error)));
      }
    });
  });

  return io;
}
