/**
 * A PostgreSQL cluster of the fleet tests' own: initdb in a temporary folder, its own port,
 * started, stopped and restarted with pg_ctl (as the postgres user when run as root, since
 * PostgreSQL refuses to run as root). Never the shared cluster other suites use.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../support/private-redis.js';

/** Debian's server binaries of the newest installed major version, unless PG_BIN says where. */
function binaries(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)) : [];
  return join('/usr/lib/postgresql', versions.at(-1) ?? '15', 'bin');
}
const BIN = binaries();
export const havePostgresBinaries = (): boolean => existsSync(join(BIN, 'initdb')) && existsSync(join(BIN, 'pg_ctl'));

function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly ids: { uid: number; gid: number } | undefined,
  ) {}

  /** A URL of the cluster's `postgres` database (trust authentication on 127.0.0.1). */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-pg-'));
    chmodSync(dir, 0o700);
    const ids = postgresIds();
    if (ids) chownSync(dir, ids.uid, ids.gid);
    const cluster = new PrivatePostgres(dir, await freePort(), ids);
    cluster.run('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    await cluster.startServer();
    return cluster;
  }

  private run(tool: string, args: string[]): void {
    execFileSync(join(BIN, tool), args, {
      stdio: 'ignore',
      ...(this.ids ? { uid: this.ids.uid, gid: this.ids.gid } : {}),
      cwd: this.dir,
    });
  }

  async startServer(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off -c max_connections=200`;
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-o', options, '-w', 'start']);
    await waitForPort(this.port);
  }

  /** Fast shutdown: open connections are closed, as in a restart. */
  stopServer(): void {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      this.stopServer();
    } catch {
      // Already stopped.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
