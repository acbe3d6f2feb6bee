import type { Kysely } from 'kysely';

/**
 * API keys, and the session token's digest on its session row: a deleted or purged session
 * takes its token with it, with no second table to keep in step.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();

  await db.schema.alterTable('sessions').addColumn('token_hash', 'text').execute();
  await db.schema.createIndex('sessions_token_hash').on('sessions').column('token_hash').unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_token_hash').execute();
  await db.schema.alterTable('sessions').dropColumn('token_hash').execute();
  await db.schema.dropTable('api_keys').execute();
}
