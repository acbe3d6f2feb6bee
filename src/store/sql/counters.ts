/**
 * The list's counters (migration 003): per scope (`''`: every session, `agent:<id>`: one
 * agent's), how many sessions exist and how many have not had their expiry processed, moved in
 * the same transactions as the rows they count.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { Dialect } from './rows.js';

/** Shards per counter scope on PostgreSQL (SQLite has one writer: one shard). */
export const COUNTER_SHARDS = 8;

export interface CountChange {
  agentId: string;
  sessions: number;
  unexpired: number;
}

/** What deleting these session rows takes off the counters. */
export const uncounted = (rows: Array<{ agent_id: string; expiry_emitted: number }>): CountChange[] =>
  rows.map((r) => ({ agentId: r.agent_id, sessions: -1, unexpired: Number(r.expiry_emitted) === 0 ? -1 : 0 }));

/** The counter rows to add `changes` to, in the order they are to be taken (scope, then shard). */
export function counterRows(dialect: Dialect, changes: CountChange[]) {
  const byScope = new Map<string, { sessions: number; unexpired: number }>();
  for (const c of changes) {
    for (const scope of ['', `agent:${c.agentId}`]) {
      const entry = byScope.get(scope) ?? { sessions: 0, unexpired: 0 };
      entry.sessions += c.sessions;
      entry.unexpired += c.unexpired;
      byScope.set(scope, entry);
    }
  }
  const shard = dialect === 'postgres' ? Math.floor(Math.random() * COUNTER_SHARDS) : 0;
  return [...byScope]
    .filter(([, d]) => d.sessions !== 0 || d.unexpired !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([scope, d]) => ({ scope, shard, sessions: d.sessions, unexpired: d.unexpired }));
}

/**
 * Moves the counters of every session and of each agent named, sharded on PostgreSQL so that
 * concurrent transactions rarely wait for each other; the rows are always taken in the same
 * order (scope, then shard), so two transactions cannot deadlock on them.
 */
export async function moveCounters(db: Kysely<Database>, dialect: Dialect, changes: CountChange[]): Promise<void> {
  const rows = counterRows(dialect, changes);
  if (rows.length === 0) return;
  await db
    .insertInto('session_counts')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['scope', 'shard']).doUpdateSet((eb) => ({
        sessions: eb('session_counts.sessions', '+', eb.ref('excluded.sessions')),
        unexpired: eb('session_counts.unexpired', '+', eb.ref('excluded.unexpired')),
      })),
    )
    .execute();
}
