/**
 * The Store over SQL: every record kind's operations (sql/ops.ts, implemented in sql/ for both
 * dialects and specialised in sqlite/ and postgres/), transactions, migrations and maintenance.
 * Dialect differences are confined to the parts a dialect replaces, row locking (PostgreSQL
 * locks a session row read inside a transaction; SQLite's single writer already serialises
 * transactions) and the connection set-up in sqlite.ts / postgres.ts.
 */
import { Migrator, sql, type Kysely } from 'kysely';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import type { StoreShared } from './sql/context.js';
import type { LifecycleFlags } from '../domain/schedule.js';
import type { Session } from '../domain/session.js';
import { moveCounters, uncounted } from './sql/counters.js';
import { SqlOps } from './sql/ops.js';
import { sessionRow, type Dialect } from './sql/rows.js';
import { SqlDeliveryStore, SqlWebhookStore } from './sql-webhooks.js';
import type { Store, StoreOps } from './store.js';
import type { DeliveryStore, WebhookStore } from './webhooks.js';

export type { Dialect } from './sql/rows.js';

/** Rows per insert of a bulk load: 20 columns each, within both databases' parameter limits. */
const IMPORT_ROWS = 1000;
/** Inserts per transaction of a bulk load. */
const IMPORT_INSERTS_PER_TRANSACTION = 20;

/** The advisory lock key the migrator holds on PostgreSQL (any constant bigint). */
const MIGRATION_LOCK = 7_310_517_204_811;

export class SqlStore extends SqlOps implements Store {
  readonly dialect: Dialect;
  readonly webhooks: WebhookStore;
  readonly deliveries: DeliveryStore;
  private readonly db: Kysely<Database>;

  constructor(db: Kysely<Database>, shared: StoreShared) {
    super(shared, db, false);
    this.db = db;
    this.dialect = shared.dialect;
    this.webhooks = new SqlWebhookStore(db);
    this.deliveries = new SqlDeliveryStore(db, shared.dialect);
  }

  transaction<T>(work: (tx: StoreOps) => Promise<T>): Promise<T> {
    return this.newTransaction(work);
  }

  async migrate(): Promise<string[]> {
    const run = async (db: Kysely<Database>) => {
      const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
      if (error) throw error instanceof Error ? error : new Error('A migration failed', { cause: error });
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    };
    if (this.dialect !== 'postgres') return run(this.db);
    // Instances starting together: one migrates, the others wait for it on this lock (held by
    // one connection), then find nothing left to do.
    return this.db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
      try {
        return await run(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
      }
    });
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /**
   * Oldest expiry first, by two seeks of sessions_expiry_due (expiries processed, and the
   * scheduler's backlog) merged: no index of `expires_at` alone is kept for this (migration 007).
   */
  async purgeExpired(cutoff: number, batchSize: number): Promise<number> {
    const seek = (emitted: number) =>
      this.db
        .selectFrom('sessions')
        .select(['id', 'expires_at'])
        .where('expiry_emitted', '=', emitted)
        .where('expires_at', '<=', cutoff)
        .orderBy('expires_at')
        .limit(batchSize)
        .execute();
    const [processed, backlog] = [await seek(1), await seek(0)];
    const ids = [...processed, ...backlog]
      .sort((a, b) => Number(a.expires_at) - Number(b.expires_at))
      .slice(0, batchSize)
      .map((r) => r.id);
    if (ids.length === 0) return 0;
    for (const id of ids) this.ctx.sessionCache?.invalidate(id);
    // Expired long ago, these sessions can no longer change; one short transaction per batch.
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('messages').where('session_id', 'in', ids).execute();
      await trx.deleteFrom('events').where('session_id', 'in', ids).execute();
      await trx.deleteFrom('idempotency_keys').where('session_id', 'in', ids).execute();
      const gone = await trx.deleteFrom('sessions').where('id', 'in', ids).returning(['agent_id', 'expiry_emitted']).execute();
      await moveCounters(trx, this.dialect, uncounted(gone));
      return gone.length;
    });
  }

  purgeIdempotencyKeys(cutoff: number): Promise<number> {
    return this.idempotency.purge(cutoff);
  }

  async importSessions(sessions: Array<{ session: Session; flags: LifecycleFlags }>): Promise<void> {
    const perTransaction = IMPORT_ROWS * IMPORT_INSERTS_PER_TRANSACTION;
    for (let start = 0; start < sessions.length; start += perTransaction) {
      const part = sessions.slice(start, start + perTransaction);
      for (const { session } of part) this.ctx.sessionCache?.invalidate(session.id);
      await this.db.transaction().execute(async (trx) => {
        for (let i = 0; i < part.length; i += IMPORT_ROWS) {
          const rows = part.slice(i, i + IMPORT_ROWS).map(({ session, flags }) => ({
            ...sessionRow(session, undefined, 0),
            warned: flags.warned ? 1 : 0,
            expiry_emitted: flags.expiryEmitted ? 1 : 0,
          }));
          await trx.insertInto('sessions').values(rows).execute();
        }
        const changes = part.map(({ session, flags }) => ({
          agentId: session.agentId,
          sessions: 1,
          unexpired: flags.expiryEmitted ? 0 : 1,
        }));
        await moveCounters(trx, this.dialect, changes);
      });
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
