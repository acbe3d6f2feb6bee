/**
 * The part every fake upstream shares: a real HTTP server on a free port that records each
 * request (raw and parsed body, whether the client went away) and hands it to `respond`.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape; the tests read it field by field and assert exact values
  body: any;
  /** Set when the client went away before the response was finished. */
  abortedByClient: boolean;
  /** Resolves when the exchange is over, whoever ended it. */
  closed: Promise<void>;
  /** Set by `respond` when it cuts the connection itself, so that is not the client's doing. */
  closedByServer?: boolean;
}

export interface RecordingServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: RecordedRequest[];
  /** Resolves with the next request received (or the one already received at that position). */
  nextRequest(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export async function startRecordingServer(
  respond: (request: RecordedRequest, res: ServerResponse) => Promise<void>,
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<() => void> = [];
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw: Buffer[] = [];
    for await (const piece of req) raw.push(piece as Buffer);
    const rawBody = Buffer.concat(raw);
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      body = undefined;
    }
    let resolveClosed!: () => void;
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      rawBody,
      body,
      abortedByClient: false,
      closed: new Promise((resolve) => (resolveClosed = resolve)),
    };
    res.on('close', () => {
      if (!record.closedByServer) record.abortedByClient = !res.writableFinished;
      resolveClosed();
    });
    requests.push(record);
    for (const wake of waiters.splice(0)) wake();
    await respond(record, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    nextRequest() {
      const index = requests.length;
      return new Promise((resolve) => {
        const check = () => (requests[index] ? resolve(requests[index]) : waiters.push(check));
        check();
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
