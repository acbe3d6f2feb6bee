/**
 * A session's save on PostgreSQL as one statement: the new state, its events numbered after the
 * session's last one (the update reserves the numbers, the insert takes them from its result)
 * and their outbox rows; with an expected version, only if the row still has it. Its SQL text is
 * written once per shape (how many events, which options, whether the version is checked) and
 * only the parameters are made per save: a heartbeat builds no query.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { PendingEvent } from '../../domain/events.js';
import type { Session } from '../../domain/session.js';
import type { Database } from '../schema.js';
import { outboxInsert } from '../sql-webhooks.js';
import { sessionStateColumns, STATE_COLUMNS } from '../sql/rows.js';
import type { SaveOptions } from '../store.js';

export interface SavedRow {
  event_seq: number;
  version: number;
}

/** Shapes kept; a save of more events than any kept shape has its text written anew. */
const SHAPES = 32;
const texts = new Map<string, string>();
/** The outbox insert's text with `$agent` for its one parameter (sql-webhooks.ts). */
let outboxText: string | undefined;

export function saveStatement(
  db: Kysely<Database>,
  session: Session,
  events: PendingEvent[],
  options: SaveOptions,
  expectedVersion?: number,
): CompiledQuery<SavedRow> {
  const n = events.length;
  const checked = expectedVersion !== undefined;
  // In the order the text numbers them.
  const state = sessionStateColumns(session);
  const parameters: unknown[] = [session.id, ...STATE_COLUMNS.map((c) => state[c])];
  if (options.settings) parameters.push(JSON.stringify(session.metadata), session.replyPolicy);
  if (checked) parameters.push(expectedVersion);
  if (n > 0) parameters.push(session.agentId);
  for (const e of events) parameters.push(e.type, e.at, JSON.stringify(e.data));

  const shape = `${n}/${options.rearmWarning ? 1 : 0}/${options.settings ? 1 : 0}/${checked ? 1 : 0}`;
  let text = texts.get(shape);
  if (text === undefined) {
    text = saveText(db, n, options, checked);
    if (texts.size < SHAPES) texts.set(shape, text);
  }
  return CompiledQuery.raw(text, parameters);
}

function saveText(db: Kysely<Database>, n: number, options: SaveOptions, checked: boolean): string {
  let last = 1; // $1: the session's id
  const next = () => `$${++last}`;
  const set = STATE_COLUMNS.map((c) => `${c} = ${next()}`);
  if (options.rearmWarning) set.push('warned = 0');
  if (options.settings) set.push(`metadata = ${next()}`, `reply_policy = ${next()}`);
  set.push(`event_seq = event_seq + ${n}`, 'version = version + 1');
  const where = checked ? `id = $1 and version = ${next()}` : 'id = $1';
  const update = `update sessions set ${set.join(', ')} where ${where} returning event_seq, version`;
  if (n === 0) return update;
  const agent = next();
  const values = Array.from({ length: n }, (_, i) => `(${i}, ${next()}::text, ${next()}::bigint, ${next()}::text)`);
  outboxText ??= compileOutbox(db);
  return `with u as (${update}),
    e as (insert into events (session_id, seq, type, at, data)
      select $1::text, u.event_seq - ${n} + 1 + v.i, v.type, v.at, v.data
      from u, (values ${values.join(', ')}) as v(i, type, at, data)
      returning session_id, seq, type, at, data),
    o as (${outboxText.replaceAll('$agent', () => agent)})
    select event_seq, version from u`;
}

/** The outbox insert of the events `e` just inserted, compiled once by Kysely. */
function compileOutbox(db: Kysely<Database>): string {
  const marker = '\u0000agent';
  const compiled = outboxInsert(sql`e`, marker).compile(db);
  if (compiled.parameters.length !== 1 || compiled.parameters[0] !== marker || !/\$1(?!\d)/.test(compiled.sql)) {
    throw new Error('the outbox insert has a parameter of its own');
  }
  return compiled.sql.replace(/\$1(?!\d)/g, () => '$agent');
}
