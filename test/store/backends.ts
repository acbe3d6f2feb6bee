/**
 * The two storage backends the contract suite runs against. Each `open()` gives a fresh, migrated
 * store of its own: a new SQLite file, or a new PostgreSQL database created next to
 * TEST_DATABASE_URL and dropped by `cleanup()`; `another()` opens a second store on that same
 * database, as a second process (an instance of the fleet) would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

interface OpenedStore {
  store: Store;
  /** What the first `migrate()` reported. */
  migrated: string[];
  /** Another store on the same database: a second process, with its own connections and memory. */
  another(): Store;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A reason to skip this backend, or undefined to run it. */
  skip: string | undefined;
  open(): Promise<OpenedStore>;
  /** Closes every store opened and removes its database. */
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const opened: Store[] = [];
  let dir: string | undefined;
  return {
    name: 'sqlite',
    skip: undefined,
    async open() {
      dir ??= mkdtempSync(join(tmpdir(), 'agent-sessions-store-'));
      const path = join(dir, `store-${opened.length}.db`);
      const store = openSqliteStore(path);
      opened.push(store);
      const another = () => {
        const second = openSqliteStore(path);
        opened.push(second);
        return second;
      };
      return { store, migrated: await store.migrate(), another };
    },
    async cleanup() {
      for (const store of opened.splice(0)) await store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const opened: Store[] = [];
  const databases: string[] = [];

  async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  return {
    name: 'postgres',
    skip: process.env.TEST_POSTGRES === '0' ? 'PostgreSQL not reachable' : undefined,
    async open() {
      const name = `agent_sessions_test_${randomBytes(6).toString('hex')}`;
      await admin((client) => client.query(`CREATE DATABASE ${name}`));
      databases.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const store = openPostgresStore(url.toString());
      opened.push(store);
      const another = () => {
        const second = openPostgresStore(url.toString());
        opened.push(second);
        return second;
      };
      return { store, migrated: await store.migrate(), another };
    },
    async cleanup() {
      for (const store of opened.splice(0)) await store.close();
      const names = databases.splice(0);
      if (names.length === 0) return;
      await admin(async (client) => {
        for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name}`);
      });
    },
  };
}

export const backends = (): Backend[] => [sqliteBackend(), postgresBackend()];
