/** A socket.io-client connection to a test server, and the acknowledged emit the tests use. */
import { io as connect, type Socket } from 'socket.io-client';
import { ADMIN_KEY, type TestServer } from './server.js';

/** Connects with `token` (the admin key unless given; `undefined` sends none); rejects on refusal. */
export async function openSocket(server: TestServer, token: string | undefined = ADMIN_KEY, opened: Socket[] = []): Promise<Socket> {
  const socket = connect(server.url, {
    path: '/socket.io',
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
  });
  opened.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** The acknowledgement of an emit: `{ ok: true }`, or the error envelope. */
export interface SocketAck {
  ok?: true;
  success?: false;
  error?: { code: string; message: string; details?: string; retryAfter?: number };
}

/** Emits and resolves with the server's acknowledgement. */
export const emitAck = (socket: Socket, event: string, payload: unknown): Promise<SocketAck> =>
  new Promise((resolve) => socket.emit(event, payload, resolve));
