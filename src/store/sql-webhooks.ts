/**
 * Webhooks, their deliveries and the outbox rows, over Kysely for both dialects. The claim is
 * one statement: on PostgreSQL its candidate rows are locked `FOR UPDATE SKIP LOCKED`, so
 * instances claiming at the same moment pass each other by; SQLite has one writer.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import { openPostgresDatabase } from './postgres/pool.js';
import type { Delivery, DeliveryStatus, Webhook, WebhookEvents } from '../domain/webhook.js';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from './schema.js';
import type { AttemptOutcome, ClaimedDelivery, DeliveryKey, DeliveryStore, Lane, WebhookStore } from './webhooks.js';

type Dialect = 'sqlite' | 'postgres';

const toWebhook = (row: Selectable<WebhooksTable>): Webhook => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as WebhookEvents,
  agentId: row.agent_id,
  secretEnv: row.secret_env,
  description: row.description,
  enabled: Number(row.enabled) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

const webhookColumns = (w: Webhook) => ({
  url: w.url,
  events: JSON.stringify(w.events),
  agent_id: w.agentId,
  secret_env: w.secretEnv,
  description: w.description,
  enabled: w.enabled ? 1 : 0,
  updated_at: w.updatedAt,
});

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

const toDelivery = (row: Selectable<WebhookDeliveriesTable>): Delivery => ({
  webhookId: row.webhook_id,
  sessionId: row.session_id,
  seq: Number(row.seq),
  type: row.type,
  at: Number(row.at),
  data: JSON.parse(row.data),
  status: row.status as DeliveryStatus,
  attempts: Number(row.attempts),
  lastStatus: nullableNumber(row.last_status),
  lastError: row.last_error,
  nextAttemptAt: Number(row.next_attempt_at),
  deliveredAt: nullableNumber(row.delivered_at),
  createdAt: Number(row.created_at),
});

/**
 * The outbox rows of the events `source` yields (rows with session_id, seq, type, at, data):
 * one per event and enabled webhook that listens to its type and to the session's agent:
 * `agentId`, or for the events of several sessions an expression over the source row `e`
 * (sql`e.agent_id`). `message.chunk` is never delivered.
 */
export function outboxInsert(source: RawBuilder<unknown>, agentId: string | RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`insert into webhook_deliveries
      (webhook_id, session_id, seq, type, at, data, status, attempts, next_attempt_at, created_at)
    select w.id, e.session_id, e.seq, e.type, e.at, e.data, 'pending', 0, e.at, e.at
    from ${source} e
    join webhooks w on w.enabled = 1
      and (w.agent_id is null or w.agent_id = ${agentId})
      and (w.events = '["*"]' or w.events like '%"' || e.type || '"%')
    where e.type <> 'message.chunk'`;
}

export class SqlWebhookStore implements WebhookStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(w: Webhook): Promise<void> {
    await this.db
      .insertInto('webhooks')
      .values({ id: w.id, created_at: w.createdAt, ...webhookColumns(w) })
      .execute();
  }

  async get(id: string): Promise<Webhook | undefined> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWebhook(row);
  }

  async list(): Promise<Webhook[]> {
    const rows = await this.db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toWebhook);
  }

  async update(w: Webhook): Promise<boolean> {
    const result = await this.db.updateTable('webhooks').set(webhookColumns(w)).where('id', '=', w.id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      const result = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }
}

export class SqlDeliveryStore implements DeliveryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async claim(now: number, limit: number, leaseMs: number, lane?: Lane): Promise<ClaimedDelivery[]> {
    const leaseId = randomUUID();
    const leaseUntil = now + leaseMs;
    const lock = this.dialect === 'postgres' ? sql`for update skip locked` : sql``;
    const inLane = lane ? sql`and c.webhook_id = ${lane.webhookId} and c.session_id = ${lane.sessionId}` : sql``;
    // A lane is read in its own order, through the pending index on (webhook, session, seq);
    // the whole outbox in order of due time, through the pending index on it.
    const order = lane ? sql`order by c.seq` : sql`order by c.next_attempt_at`;
    const { rows } = await sql<Selectable<WebhookDeliveriesTable> & { url: string; secret_env: string | null }>`
      update webhook_deliveries set lease_until = ${leaseUntil}, lease_id = ${leaseId}
      where (webhook_id, session_id, seq) in (
        select c.webhook_id, c.session_id, c.seq from webhook_deliveries c
        where c.status = 'pending' and c.next_attempt_at <= ${now} ${inLane}
          and (c.lease_until is null or c.lease_until <= ${now})
          and exists (select 1 from webhooks w where w.id = c.webhook_id and w.enabled = 1)
          and not exists (
            select 1 from webhook_deliveries p
            where p.status = 'pending' and p.webhook_id = c.webhook_id and p.session_id = c.session_id and p.seq < c.seq)
        ${order}
        limit ${limit}
        ${lock})
      returning *,
        (select w.url from webhooks w where w.id = webhook_deliveries.webhook_id) as url,
        (select w.secret_env from webhooks w where w.id = webhook_deliveries.webhook_id) as secret_env`.execute(this.db);
    return rows.map((row) => ({ ...toDelivery(row), leaseId, leaseUntil, url: row.url, secretEnv: row.secret_env }));
  }

  async record(key: DeliveryKey, leaseId: string, outcome: AttemptOutcome, now: number): Promise<boolean> {
    const base = this.db
      .updateTable('webhook_deliveries')
      .where('webhook_id', '=', key.webhookId)
      .where('session_id', '=', key.sessionId)
      .where('seq', '=', key.seq)
      .where('lease_id', '=', leaseId)
      .where('status', '=', 'pending');
    const common = {
      attempts: sql<number>`attempts + 1`,
      last_status: outcome.httpStatus,
      lease_until: null,
      lease_id: null,
    };
    const update =
      outcome.status === 'delivered'
        ? base.set({ ...common, status: 'delivered', last_error: null, delivered_at: now })
        : outcome.status === 'pending'
          ? base.set({ ...common, last_error: outcome.error, next_attempt_at: outcome.nextAttemptAt })
          : base.set({ ...common, status: 'failed', last_error: outcome.error });
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async list(webhookId: string, query: { status?: DeliveryStatus; limit: number }): Promise<Delivery[]> {
    let q = this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
    if (query.status) q = q.where('status', '=', query.status);
    const rows = await q.orderBy('created_at', 'desc').orderBy('session_id', 'desc').orderBy('seq', 'desc').limit(query.limit).execute();
    return rows.map(toDelivery);
  }

  async purgeSettled(cutoff: number): Promise<number> {
    const result = await this.db
      .deleteFrom('webhook_deliveries')
      .where('created_at', '<', cutoff)
      .where('status', '<>', 'pending')
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async nextDue(): Promise<number | undefined> {
    // One seek on the due index; a leased head makes the worker look again at its next poll.
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .select('next_attempt_at')
      // A literal, not a parameter: SQLite uses a partial index only for the very term.
      .where(sql<boolean>`status = 'pending'`)
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst();
    return row ? Number(row.next_attempt_at) : undefined;
  }
}

/**
 * The deliveries over a PostgreSQL pool of their own (`size` connections), so that the delivery
 * worker's claims and records do not queue behind the requests for the store's pool, and the
 * requests not behind them. `close` ends the pool.
 */
export function openPostgresDeliveries(url: string, size: number): { deliveries: DeliveryStore; close(): Promise<void> } {
  const { db } = openPostgresDatabase(url, size);
  return { deliveries: new SqlDeliveryStore(db, 'postgres'), close: () => db.destroy() };
}
