/** Idempotency-Key records over Kysely, the same SQL for both dialects. */
import type { IdempotencyRecord, IdempotencyStore } from '../store.js';
import type { OpsContext } from './context.js';

export class SqlIdempotency implements IdempotencyStore {
  constructor(protected readonly ctx: OpsContext) {}

  async getIdempotencyRecord(sessionId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const row = await this.ctx.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('key', '=', key)
      .executeTakeFirst();
    return (
      row && {
        sessionId: row.session_id,
        key: row.key,
        requestHash: row.request_hash,
        messageId: row.message_id,
        completed: row.completed === 1,
        createdAt: Number(row.created_at),
      }
    );
  }

  async insertIdempotencyRecord(r: IdempotencyRecord): Promise<void> {
    await this.ctx.db
      .insertInto('idempotency_keys')
      .values({
        session_id: r.sessionId,
        key: r.key,
        request_hash: r.requestHash,
        message_id: r.messageId,
        completed: r.completed ? 1 : 0,
        created_at: r.createdAt,
      })
      .execute();
  }

  async completeIdempotencyRecord(sessionId: string, key: string): Promise<void> {
    await this.ctx.db
      .updateTable('idempotency_keys')
      .set({ completed: 1 })
      .where('session_id', '=', sessionId)
      .where('key', '=', key)
      .execute();
  }

  /** Forgets keys created before `cutoff`. */
  async purge(cutoff: number): Promise<number> {
    const result = await this.ctx.db.deleteFrom('idempotency_keys').where('created_at', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
