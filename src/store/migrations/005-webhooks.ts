import { sql, type Kysely } from 'kysely';

/**
 * Webhooks (SPEC §11) and their outbox: one delivery row per stored event and matching webhook,
 * written in the transaction that stores the event. A delivery carries the event itself, so
 * that it outlives its session (`session.ended` is delivered after the session is gone).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    /** JSON array of event types, or `["*"]`. */
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'text')
    .addColumn('secret_env', 'text')
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    /** pending | delivered | failed */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    /** While an instance is attempting the delivery: until when it holds it, and its claim. */
    .addColumn('lease_until', 'bigint')
    .addColumn('lease_id', 'text')
    .addColumn('delivered_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_deliveries_pk', ['webhook_id', 'session_id', 'seq'])
    .execute();
  // The worker's two questions: what is due, and is an earlier event of the same session and
  // webhook still pending (order). Partial indexes: delivered rows are out of both.
  await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  await sql`create index webhook_deliveries_pending on webhook_deliveries (webhook_id, session_id, seq) where status = 'pending'`.execute(
    db,
  );
  // The delivery log, newest first.
  await db.schema.createIndex('webhook_deliveries_log').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();
  // The purge of settled deliveries past their age.
  await db.schema.createIndex('webhook_deliveries_created').on('webhook_deliveries').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('webhooks').execute();
}
