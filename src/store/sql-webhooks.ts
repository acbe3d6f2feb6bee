/**
 * Webhooks, their deliveries and the outbox rows, over Kysely for both dialects. The claim is
 * one statement: on PostgreSQL its candidate rows are locked `FOR UPDATE SKIP LOCKED`, so
 * instances claiming at the same moment pass each other by; SQLite has one writer. Recording a
 * batch of attempts together with the next claims of the lanes they settle (`settle`) is one
 * statement on PostgreSQL and one transaction on SQLite.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import { openPostgresDatabase } from './postgres/pool.js';
import type { Delivery, DeliveryStatus, Webhook, WebhookEvents } from '../domain/webhook.js';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from './schema.js';
import type {
  AttemptOutcome,
  AttemptRecord,
  ClaimedDelivery,
  DeliveryKey,
  DeliveryStore,
  Lane,
  Settlement,
  WebhookStore,
} from './webhooks.js';

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

type ClaimedRow = Selectable<WebhookDeliveriesTable> & { url: string; secret_env: string | null };

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

const toClaimed = (row: ClaimedRow): ClaimedDelivery => ({
  ...toDelivery(row),
  leaseId: row.lease_id!,
  leaseUntil: Number(row.lease_until),
  url: row.url,
  secretEnv: row.secret_env,
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

  claim(now: number, limit: number, leaseMs: number, lane?: Lane): Promise<ClaimedDelivery[]> {
    return this.claimWith(this.db, now, limit, leaseMs, randomUUID(), lane);
  }

  record(key: DeliveryKey, leaseId: string, outcome: AttemptOutcome, now: number): Promise<boolean> {
    return this.recordWith(this.db, { key, leaseId, outcome, at: now });
  }

  async settle(records: readonly AttemptRecord[], now: number, leaseMs: number, claimNext: boolean): Promise<Settlement[]> {
    if (records.length === 0) return [];
    const leaseId = randomUUID();
    if (this.dialect === 'postgres') return this.settleInOneStatement(records, now, leaseMs, leaseId, claimNext);
    // SQLite: one writer, statements that run synchronously; one transaction, one commit for all.
    return this.db.transaction().execute(async (trx) => {
      const settled: Settlement[] = [];
      for (const record of records) {
        const recorded = await this.recordWith(trx, record);
        const settles = recorded && claimNext && record.outcome.status !== 'pending';
        settled.push({ recorded, next: settles ? await this.leaseLaneHead(trx, record.key, now, leaseMs, leaseId) : undefined });
      }
      return settled;
    });
  }

  /**
   * SQLite, inside a transaction (which holds the one write lock): the lane's head, read, and
   * leased by its key if it is due, free and its webhook enabled. Usually there is none yet (the
   * next event is not stored): a read through the pending index then costs a small part of what
   * the claim's `update … where (key) in (select …)` costs even when it changes nothing.
   */
  private async leaseLaneHead(
    trx: Kysely<Database>,
    lane: Lane,
    now: number,
    leaseMs: number,
    leaseId: string,
  ): Promise<ClaimedDelivery | undefined> {
    const head = await trx
      .selectFrom('webhook_deliveries')
      .select(['seq', 'next_attempt_at', 'lease_until'])
      // A literal, not a parameter: SQLite uses a partial index only for the very term.
      .where(sql<boolean>`status = 'pending'`)
      .where('webhook_id', '=', lane.webhookId)
      .where('session_id', '=', lane.sessionId)
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    if (!head || Number(head.next_attempt_at) > now || (head.lease_until !== null && Number(head.lease_until) > now)) return undefined;
    const { rows } = await sql<ClaimedRow>`
      update webhook_deliveries set lease_until = ${now + leaseMs}, lease_id = ${leaseId}
      where webhook_id = ${lane.webhookId} and session_id = ${lane.sessionId} and seq = ${head.seq}
        and exists (select 1 from webhooks w where w.id = webhook_deliveries.webhook_id and w.enabled = 1)
      returning *,
        (select w.url from webhooks w where w.id = webhook_deliveries.webhook_id) as url,
        (select w.secret_env from webhooks w where w.id = webhook_deliveries.webhook_id) as secret_env`.execute(trx);
    return rows[0] && toClaimed(rows[0]);
  }

  private async claimWith(
    db: Kysely<Database>,
    now: number,
    limit: number,
    leaseMs: number,
    leaseId: string,
    lane?: Lane,
  ): Promise<ClaimedDelivery[]> {
    const leaseUntil = now + leaseMs;
    const lock = this.dialect === 'postgres' ? sql`for update skip locked` : sql``;
    const inLane = lane ? sql`and c.webhook_id = ${lane.webhookId} and c.session_id = ${lane.sessionId}` : sql``;
    // A lane is read in its own order, through the pending index on (webhook, session, seq);
    // the whole outbox in order of due time, through the pending index on it.
    const order = lane ? sql`order by c.seq` : sql`order by c.next_attempt_at`;
    const { rows } = await sql<ClaimedRow>`
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
        (select w.secret_env from webhooks w where w.id = webhook_deliveries.webhook_id) as secret_env`.execute(db);
    return rows.map(toClaimed);
  }

  private async recordWith(db: Kysely<Database>, { key, leaseId, outcome, at }: AttemptRecord): Promise<boolean> {
    const base = db
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
        ? base.set({ ...common, status: 'delivered', last_error: null, delivered_at: at })
        : outcome.status === 'pending'
          ? base.set({ ...common, last_error: outcome.error, next_attempt_at: outcome.nextAttemptAt })
          : base.set({ ...common, status: 'failed', last_error: outcome.error });
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * PostgreSQL: the records and the lanes' next claims in one statement. Its parts all read the
   * snapshot taken when it began, in which the deliveries just recorded are still pending; so the
   * next delivery of a settled lane is the first pending one after the recorded one (nothing
   * before it can be pending: the recorded one was its lane's head when it was claimed). No other
   * claim can take that one meanwhile: until this statement commits, the recorded delivery is
   * pending for everybody else and blocks its lane; the claim's own conditions are checked again
   * on the row it locks.
   */
  private async settleInOneStatement(
    records: readonly AttemptRecord[],
    now: number,
    leaseMs: number,
    leaseId: string,
    claimNext: boolean,
  ): Promise<Settlement[]> {
    const column = <T>(pick: (record: AttemptRecord) => T): T[] => records.map(pick);
    const { rows } = await sql<ClaimedRow & { recorded: boolean }>`
      with outcome as (
        select * from unnest(
          ${column((r) => r.key.webhookId)}::text[], ${column((r) => r.key.sessionId)}::text[], ${column((r) => r.key.seq)}::integer[],
          ${column((r) => r.leaseId)}::text[], ${column((r) => r.outcome.status)}::text[], ${column((r) => r.outcome.httpStatus)}::integer[],
          ${column((r) => (r.outcome.status === 'delivered' ? null : r.outcome.error))}::text[],
          ${column((r) => (r.outcome.status === 'pending' ? r.outcome.nextAttemptAt : null))}::bigint[], ${column((r) => r.at)}::bigint[])
          with ordinality as o(webhook_id, session_id, seq, lease_id, status, http_status, error, next_attempt_at, at, ord)
      ),
      recorded as (
        update webhook_deliveries d set
          status = o.status,
          attempts = d.attempts + 1,
          last_status = o.http_status,
          last_error = o.error,
          next_attempt_at = coalesce(o.next_attempt_at, d.next_attempt_at),
          delivered_at = case when o.status = 'delivered' then o.at else d.delivered_at end,
          lease_until = null,
          lease_id = null
        from outcome o
        where d.webhook_id = o.webhook_id and d.session_id = o.session_id and d.seq = o.seq
          and d.lease_id = o.lease_id and d.status = 'pending'
        returning d.webhook_id, d.session_id, d.seq, d.status
      ),
      following as (
        select n.webhook_id, n.session_id, n.seq
        from recorded r
        cross join lateral (
          select c.webhook_id, c.session_id, c.seq, c.next_attempt_at, c.lease_until from webhook_deliveries c
          where c.status = 'pending' and c.webhook_id = r.webhook_id and c.session_id = r.session_id and c.seq > r.seq
          order by c.seq
          limit 1) n
        where ${claimNext}::boolean and r.status <> 'pending'
          and n.next_attempt_at <= ${now} and (n.lease_until is null or n.lease_until <= ${now})
          and exists (select 1 from webhooks w where w.id = n.webhook_id and w.enabled = 1)
      ),
      claimed as (
        update webhook_deliveries d set lease_until = ${now + leaseMs}, lease_id = ${leaseId}
        from following f
        where d.webhook_id = f.webhook_id and d.session_id = f.session_id and d.seq = f.seq
          and d.status = 'pending' and (d.lease_until is null or d.lease_until <= ${now})
        returning d.*
      )
      select r.seq is not null as recorded, c.*, w.url, w.secret_env
      from outcome o
      left join recorded r on r.webhook_id = o.webhook_id and r.session_id = o.session_id and r.seq = o.seq
      left join claimed c on c.webhook_id = o.webhook_id and c.session_id = o.session_id
      left join webhooks w on w.id = c.webhook_id
      order by o.ord`.execute(this.db);
    return rows.map((row) => ({ recorded: row.recorded, next: row.lease_id === null ? undefined : toClaimed(row) }));
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
