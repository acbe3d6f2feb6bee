/** SQLite set-up: a file in WAL mode, opened through better-sqlite3. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteAdapter, SqliteDialect, type DialectAdapter, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.js';
import { GroupCommit } from './group-commit.js';
import { ApiKeyCache } from './key-cache.js';
import { SessionCache } from './session-cache.js';
import { SqlStore } from './sql-store.js';
import { sqliteParts } from './sqlite/parts.js';
import { SqliteStatements } from './sqlite/statements.js';

/**
 * Transactions take the write lock when they begin rather than at their first write, so that
 * another process on the same file (a second server, `npm run keys`, two first starts racing
 * to migrate) waits for it (busy_timeout) instead of failing in mid-transaction: a deferred
 * transaction that read first cannot be upgraded once somebody else has written.
 */
const BEGIN = 'begin immediate';

/** Distinct SQL texts kept prepared; the store issues a few dozen, batch deletes a few more. */
const STATEMENT_CACHE_SIZE = 256;

export function openSqliteStore(path: string): SqlStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const connection = new BetterSqlite3(path);
  // WAL with synchronous=NORMAL: a committed transaction survives a crash (kill -9) of the
  // process; only a power loss could lose the newest commits.
  // First: switching to WAL needs a moment's exclusive lock, which may have to wait for a
  // second process opening the same file.
  connection.pragma('busy_timeout = 5000');
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = NORMAL');
  connection.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new TransactionalSqliteDialect({ database: withPreparedStatements(connection) }) });
  const groupCommit = new GroupCommit(db, connection);
  const committedElsewhere = externalCommits(connection);
  return new SqlStore(db, {
    dialect: 'sqlite',
    sessionCache: new SessionCache(committedElsewhere()),
    keyCache: new ApiKeyCache({ changedElsewhere: committedElsewhere() }),
    parts: sqliteParts(new SqliteStatements(connection)),
    runTransaction: (work) => groupCommit.run(work),
  });
}

/**
 * Kysely's SQLite driver prepares every statement anew, which was the largest single cost of a
 * request (about a sixth of the CPU of GET session). Queries are built from a fixed set of
 * shapes, so their SQL texts repeat and each is prepared once. Reuse is safe: better-sqlite3
 * runs a statement to completion synchronously, and SQLite re-prepares one whose schema changed.
 */
function withPreparedStatements(connection: BetterSqlite3.Database): SqliteDatabase {
  const prepared = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => connection.close(),
    prepare(text) {
      const sql = text === 'begin' ? BEGIN : text;
      let statement = prepared.get(sql);
      if (statement === undefined) {
        statement = connection.prepare(sql);
        if (prepared.size >= STATEMENT_CACHE_SIZE) prepared.delete(prepared.keys().next().value!);
        prepared.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * Commits by other connections (another process on the same file), for the caches to empty
 * themselves: SQLite's data_version changes only for other connections' commits, never for this
 * one's. Asking costs a read transaction (about 10 µs on a WAL file, a tenth of GET session's
 * CPU), and both caches ask on every request, so the answer is shared until the current run of
 * JavaScript ends (the next tick): nothing arrives from outside the process in between, so a
 * second question within it would get the same answer. Each cache gets its own view: whether
 * anything was committed elsewhere since that cache last asked.
 */
function externalCommits(connection: BetterSqlite3.Database): () => () => boolean {
  const dataVersion = connection.prepare('pragma data_version').pluck();
  let version = dataVersion.get();
  let generation = 0;
  let answered = false;
  const current = (): number => {
    if (!answered) {
      answered = true;
      process.nextTick(() => (answered = false));
      const now = dataVersion.get();
      if (now !== version) {
        version = now;
        generation++;
      }
    }
    return generation;
  };
  return () => {
    let seen = generation;
    return () => {
      const now = current();
      if (now === seen) return false;
      seen = now;
      return true;
    };
  };
}

/**
 * SQLite runs DDL inside transactions, but Kysely's adapter says it does not, so its Migrator
 * would run migrations without one: two processes starting on a new file at once would both
 * create the tables. Saying so makes each migration run one `begin immediate` transaction, which
 * the second process waits for and then finds the work done.
 */
class TransactionalSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new (class extends SqliteAdapter {
      override get supportsTransactionalDdl(): boolean {
        return true;
      }
    })();
  }
}
