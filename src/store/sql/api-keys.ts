/** API keys over Kysely, the same SQL for both dialects; reads by digest go through the key cache. */
import { sql } from 'kysely';
import type { ApiKeyRecord, ApiKeyStore } from '../store.js';
import type { OpsContext } from './context.js';
import { apiKeyColumns, toApiKey } from './rows.js';

export class SqlApiKeys implements ApiKeyStore {
  constructor(protected readonly ctx: OpsContext) {}

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    this.ctx.keyCache?.invalidate();
    await this.ctx.db.insertInto('api_keys').values(apiKeyColumns(key)).execute();
  }

  async insertFirstApiKey(key: ApiKeyRecord): Promise<boolean> {
    this.ctx.keyCache?.invalidate();
    const v = apiKeyColumns(key);
    const bigint = (value: number | null) => sql<number>`cast(${value} as bigint)`;
    const db = this.ctx.db;
    // One statement, so that SQLite takes its write lock at once (a read-then-write transaction
    // could fail with SQLITE_BUSY beside another writer). Two instances starting together may
    // both see an empty table; the fixed id of the first key lets only one insert win.
    const result = await db
      .insertInto('api_keys')
      .columns(['id', 'name', 'scopes', 'key_hash', 'prefix', 'created_at', 'expires_at', 'last_used_at'])
      .expression(
        db
          .selectNoFrom((eb) => [
            eb.val(v.id).as('id'),
            eb.val(v.name).as('name'),
            eb.val(v.scopes).as('scopes'),
            eb.val(v.key_hash).as('key_hash'),
            eb.val(v.prefix).as('prefix'),
            bigint(v.created_at).as('created_at'),
            bigint(v.expires_at).as('expires_at'),
            bigint(v.last_used_at).as('last_used_at'),
          ])
          .where((eb) => eb.not(eb.exists(eb.selectFrom('api_keys').select('id')))),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.ctx.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toApiKey(row);
  }

  async getApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const cache = this.ctx.inTransaction ? undefined : this.ctx.keyCache;
    const cached = cache?.get(keyHash);
    if (cached !== undefined) return cached;
    const ticket = cache?.ticket();
    const row = await this.ctx.db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
    const key = row && toApiKey(row);
    if (key && cache !== undefined && ticket !== undefined) cache.fill(ticket, key);
    return key;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.ctx.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toApiKey);
  }

  async deleteApiKey(id: string): Promise<boolean> {
    this.ctx.keyCache?.invalidate();
    const result = await this.ctx.db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async touchApiKey(id: string, at: number): Promise<void> {
    this.ctx.keyCache?.invalidate();
    await this.ctx.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
