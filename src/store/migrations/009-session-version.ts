import type { Kysely } from 'kysely';

/**
 * A version on each session row, moved by every statement that writes the row. On PostgreSQL a
 * heartbeat, renewal or PATCH is one optimistic statement on the state the instance last saw
 * (`… where id = $1 and version = $2`); a write that finds the version moved decides again on
 * the stored row (store/postgres/sessions.ts). A column with a constant default rewrites no row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sessions')
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('version').execute();
}
