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

/**
 * `count` consecutive ports nothing listens on, for a server that takes a block (the fleet: the
 * load balancer on the first, instances on the next ones). Taken below Linux's ephemeral range
 * (32768 and up), where outgoing connections get their local ports: a block taken there can
 * be half used by a client socket a moment later.
 */
export async function freePortBlock(count: number): Promise<number> {
  const bindable = (port: number) =>
    new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let free = true;
    for (let port = first; port < first + count && free; port++) free = await bindable(port);
    if (free) return first;
  }
  throw new Error(`no block of ${count} free ports between 20000 and 32000`);
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
