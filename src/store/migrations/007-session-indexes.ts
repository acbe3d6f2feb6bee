import type { Kysely } from 'kysely';

/**
 * Fewer indexes on `sessions`, each of which a heartbeat rewrites when it moves `expires_at`:
 * - `sessions_expires_at` goes: the purge seeks `sessions_expiry_due` twice instead (processed
 *   expiries, then the backlog), and no other query needs it (EXPLAIN, docs/architecture.md);
 * - `sessions_expiry_due` carries `warning_at`, so that health's "expiring soon" is a range of
 *   its entries over unexpired sessions only, with no row read and no scan of the table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_expires_at').execute();
  await db.schema.dropIndex('sessions_expiry_due').execute();
  await db.schema.createIndex('sessions_expiry_due').on('sessions').columns(['expiry_emitted', 'expires_at', 'warning_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_expiry_due').execute();
  await db.schema.createIndex('sessions_expiry_due').on('sessions').columns(['expiry_emitted', 'expires_at']).execute();
  await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();
}
