import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('session_defaults', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull().unique())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('timeout_minutes', 'integer', (c) => c.notNull())
    .addColumn('auto_renew', 'integer', (c) => c.notNull())
    .addColumn('max_duration_minutes', 'integer', (c) => c.notNull())
    .addColumn('warning_threshold_minutes', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_activity', 'bigint', (c) => c.notNull())
    .addColumn('last_renewal', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('renewal_count', 'integer', (c) => c.notNull())
    .addColumn('last_message_at', 'bigint')
    .addColumn('event_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('warning_at', 'bigint', (c) => c.notNull())
    .addColumn('warned', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expiry_emitted', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('sessions_created_at').on('sessions').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();
  // The scheduler's two questions: whose warning is due, whose expiry is due.
  await db.schema.createIndex('sessions_warning_due').on('sessions').columns(['warned', 'warning_at']).execute();
  await db.schema.createIndex('sessions_expiry_due').on('sessions').columns(['expiry_emitted', 'expires_at']).execute();
  await db.schema.createIndex('sessions_agent').on('sessions').columns(['agent_id', 'created_at']).execute();
  await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('author_id', 'text', (c) => c.notNull())
    .addColumn('is_agent', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('attachments', 'text', (c) => c.notNull())
    .addColumn('in_reply_to', 'text')
    .execute();
  // Unique: createdAt is strictly increasing within a session, which makes it an exact cursor.
  await db.schema.createIndex('messages_session_time').on('messages').columns(['session_id', 'created_at']).unique().execute();
  await db.schema.createIndex('messages_reply').on('messages').column('in_reply_to').execute();

  await db.schema
    .createTable('events')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('events_pk', ['session_id', 'seq'])
    .execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('completed', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['session_id', 'key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['idempotency_keys', 'events', 'messages', 'sessions', 'agents']) {
    await db.schema.dropTable(table).execute();
  }
}
