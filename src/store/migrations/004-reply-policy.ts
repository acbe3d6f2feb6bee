import { sql, type Kysely } from 'kysely';

/**
 * The session's reply policy (SPEC §10): what a send does while a reply is under way. Existing
 * sessions keep the behaviour they had, `enqueue`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sessions')
    .addColumn('reply_policy', 'text', (c) => c.notNull().defaultTo(sql`'enqueue'`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('reply_policy').execute();
}
