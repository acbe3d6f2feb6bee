/** Ports for servers a test starts itself. */
import net from 'node:net';
import { poll } from './wait.js';

/** A port nothing listens on right now (bound, then released): for a server to start on, or to find closed. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on the port (or fails after `ms`). */
export async function waitForPort(port: number, ms = 15_000): Promise<void> {
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
  await poll(accepts, (open) => open, `something to listen on port ${port}`, { ms, every: 50 });
}
