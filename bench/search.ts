/**
 * Search, deep list pages and export (not a test; run by `npm run bench` after the hot-path
 * routes, or alone with `node --import tsx bench/search.ts`). For each store it starts
 * agent-sessions (dist/main.js) on a fresh database, seeds it in bulk with SQL, and measures over
 * HTTP with autocannon, each measure after 2 s of the same requests that are not counted:
 * - search p99 with 1,000,000 messages stored (two-word and one-word queries over a vocabulary
 *   of 5,000 pseudo-words, 12 words a message, in 10,000 sessions);
 * - the list's page 10,000 (50 a page, so 499,950 sessions in) by cursor, with 1,000,000
 *   sessions stored, beside page 1 and the same page by offset;
 * - exporting a 100,000-message session as ndjson: the time, and the server's RSS growth while
 *   it streams (VmRSS sampled every 20 ms).
 * `--smoke`: 20,000 messages, 20,000 sessions, a 5,000-message export. `--store sqlite|postgres`.
 * Writes bench/results/search.json (smoke: a temporary file).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { foldForSearch } from '../src/domain/search.js';
import {
  benchArgs,
  benchDatabase,
  load as loadRoute,
  loadAverage,
  REDIS_URL,
  rssMb,
  startServer,
  writeResults,
  type LoadResult,
  type StoreKind,
} from './support.js';

const { smoke: SMOKE, stores: STORES } = benchArgs();
const SECONDS = Number(process.env.BENCH_SECONDS ?? (SMOKE ? 1 : 5));
const CONNECTIONS = 10;
const MESSAGES = SMOKE ? 20_000 : 1_000_000;
const MESSAGE_SESSIONS = SMOKE ? 200 : 10_000;
const SESSIONS = SMOKE ? 20_000 : 1_000_000;
const PAGE = 50;
const DEEP_PAGE = SMOKE ? 100 : 10_000;
const EXPORT_MESSAGES = SMOKE ? 5_000 : 100_000;
const VOCABULARY = 5_000;
const WORDS_PER_MESSAGE = 12;
const KEY = 'bench-admin-key-0123456789abcdef';
const AGENT = '00000000-0000-4000-8000-000000000001';
const HOUR = 3_600_000;

/** Deterministic pseudo-words: 5–9 letters, so every one has trigrams. */
const words: string[] = [];
{
  // xorshift32: the same vocabulary on every run.
  let seed = 2_463_534_242;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % 2 ** 24;
  };
  const seen = new Set<string>();
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  while (words.length < VOCABULARY) {
    const length = 5 + (next() % 5);
    let w = '';
    for (let i = 0; i < length; i++) w += letters[next() % 26];
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
}
const pick = () => words[Math.floor(Math.random() * VOCABULARY)]!;
const sentence = () => Array.from({ length: WORDS_PER_MESSAGE }, pick).join(' ');

type Measure = LoadResult;

/** Seconds of the same requests before each measure, not counted: the seed leaves caches cold. */
const WARM_SECONDS = SMOKE ? 0 : 2;

async function load(name: string, origin: string, paths: string[]): Promise<Measure> {
  const options = { name, url: `${origin}${paths[0]}`, key: KEY, connections: CONNECTIONS, paths };
  if (WARM_SECONDS > 0) await loadRoute({ ...options, seconds: WARM_SECONDS, quiet: true });
  return loadRoute({ ...options, seconds: SECONDS });
}

const cursorOf = (createdAt: number, id: string) => Buffer.from(`s.${createdAt}.${id}`).toString('base64url');

interface Seeder {
  /** Sessions created one ms apart ending at `now`, 30 min timeout, far future expiry for the export's. */
  sessions(count: number, now: number): Promise<string[]>;
  /** Messages spread over these sessions, one ms apart per session, ending before `now`. */
  messages(sessionIds: string[], count: number, now: number): Promise<void>;
  /** (createdAt, id) of the session `position` rows into the newest-first order. */
  at(position: number): Promise<{ createdAt: number; id: string }>;
  close(): Promise<void>;
}

const SESSION_COLUMNS = `id, channel_id, agent_id, user_id, metadata, timeout_minutes, auto_renew, max_duration_minutes,
  warning_threshold_minutes, created_at, last_activity, last_renewal, expires_at, renewal_count, last_message_at, event_seq,
  warning_at, warned, expiry_emitted, token_hash`;
const MESSAGE_COLUMNS = 'id, session_id, content, author_id, is_agent, created_at, metadata, attachments, in_reply_to, search_text';

function sqliteSeeder(path: string): Seeder {
  const db = new BetterSqlite3(path);
  db.pragma('busy_timeout = 10000');
  const session = db.prepare(
    `insert into sessions (${SESSION_COLUMNS}) values (?, ?, ?, ?, '{}', 30, 1, 720, 5, ?, ?, ?, ?, 0, null, 0, ?, 0, 0, null)`,
  );
  const message = db.prepare(`insert into messages (${MESSAGE_COLUMNS}) values (?, ?, ?, ?, 0, ?, '{}', '[]', null, ?)`);
  return {
    async sessions(count, now) {
      const ids: string[] = [];
      for (let done = 0; done < count; done += 50_000) {
        db.transaction(() => {
          for (let i = done; i < Math.min(count, done + 50_000); i++) {
            const id = randomUUID();
            const created = now - count + i;
            const expires = now + 24 * HOUR;
            session.run(id, randomUUID(), AGENT, randomUUID(), created, created, created, expires, expires - 300_000);
            if (ids.length < MESSAGE_SESSIONS) ids.push(id);
          }
        })();
      }
      db.prepare(`update session_counts set sessions = sessions + ?, unexpired = unexpired + ? where scope = ''`).run(count, count);
      return ids;
    },
    async messages(sessionIds, count, now) {
      for (let done = 0; done < count; done += 20_000) {
        db.transaction(() => {
          for (let i = done; i < Math.min(count, done + 20_000); i++) {
            const content = sentence();
            message.run(randomUUID(), sessionIds[i % sessionIds.length], content, randomUUID(), now - count + i, foldForSearch(content));
          }
        })();
      }
    },
    async at(position) {
      const row = db.prepare('select created_at, id from sessions order by created_at desc, id desc limit 1 offset ?').get(position) as {
        created_at: number;
        id: string;
      };
      return { createdAt: Number(row.created_at), id: row.id };
    },
    async close() {
      db.close();
    },
  };
}

function postgresSeeder(url: string): Seeder {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const uuid = `md5(random()::text || clock_timestamp()::text)::uuid::text`;
  return {
    async sessions(count, now) {
      for (let done = 0; done < count; done += 100_000) {
        const n = Math.min(100_000, count - done);
        await pool.query(
          `insert into sessions (${SESSION_COLUMNS})
           select ${uuid}, ${uuid}, $4, ${uuid}, '{}', 30, 1, 720, 5, c, c, c, $1::bigint + ${24 * HOUR}, 0, null, 0,
             $1::bigint + ${24 * HOUR - 300_000}, 0, 0, null
           from (select ($1::bigint - $2::bigint + i) as c from generate_series($3::bigint, $3::bigint + ${n - 1}) as i) g`,
          [now, count, done, AGENT],
        );
      }
      await pool.query(`update session_counts set sessions = sessions + $1, unexpired = unexpired + $1 where scope = '' and shard = 0`, [
        count,
      ]);
      await pool.query('vacuum analyze sessions');
      const { rows } = await pool.query<{ id: string }>('select id from sessions order by created_at desc limit $1', [MESSAGE_SESSIONS]);
      return rows.map((r) => r.id);
    },
    async messages(sessionIds, count, now) {
      // Generated here (the same words as SQLite's), sent in batches of 5,000 rows.
      for (let done = 0; done < count; done += 5_000) {
        const n = Math.min(5_000, count - done);
        const contents = Array.from({ length: n }, sentence);
        await pool.query(
          `insert into messages (${MESSAGE_COLUMNS})
           select ${uuid}, ($1::text[])[1 + ((g.i - 1) % array_length($1::text[], 1))], g.c, ${uuid}, 0, $2::bigint + g.i, '{}', '[]', null, g.c
           from unnest($3::text[]) with ordinality as g(c, i)`,
          [sessionIds, now - count + done, contents],
        );
      }
      await pool.query('vacuum analyze messages');
    },
    async at(position) {
      const { rows } = await pool.query<{ created_at: string; id: string }>(
        'select created_at, id from sessions order by created_at desc, id desc limit 1 offset $1',
        [position],
      );
      const row = rows[0];
      if (!row) throw new Error(`no session at ${position}`);
      return { createdAt: Number(row.created_at), id: row.id };
    },
    async close() {
      await pool.end();
    },
  };
}

interface StoreResult {
  store: StoreKind;
  seedSeconds: { messages: number; sessions: number };
  search: Measure[];
  list: Measure[];
  export: { messages: number; bytes: number; seconds: number; rssBeforeMb: number; rssMaxMb: number; rssGrowthMb: number; load: number };
}

async function runStore(kind: StoreKind): Promise<StoreResult> {
  const database = await benchDatabase(kind);
  const port = kind === 'sqlite' ? 3904 : 3905;
  const origin = `http://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  let seeder: Seeder | undefined;
  try {
    server = await startServer({ port, databaseUrl: database.url, key: KEY, ...(kind === 'postgres' ? { redisUrl: REDIS_URL } : {}) });
    const pid = server.pid ?? 0;
    seeder = kind === 'sqlite' ? sqliteSeeder(database.url) : postgresSeeder(database.url);
    console.log(`\n${kind === 'sqlite' ? 'embedded (SQLite)' : 'scaled (PostgreSQL + Redis)'}: search, deep list pages, export`);
    const now = Date.now();

    let t = Date.now();
    const sessionIds = await seeder.sessions(SESSIONS, now);
    const sessionsSeconds = (Date.now() - t) / 1000;
    t = Date.now();
    await seeder.messages(sessionIds.slice(1), MESSAGES - EXPORT_MESSAGES, now);
    await seeder.messages([sessionIds[0]!], EXPORT_MESSAGES, now);
    const messagesSeconds = (Date.now() - t) / 1000;
    console.log(
      `  (seeded ${SESSIONS.toLocaleString('en')} sessions in ${sessionsSeconds.toFixed(1)} s, ${MESSAGES.toLocaleString('en')} messages in ${messagesSeconds.toFixed(1)} s)`,
    );

    const q = (text: string) => `/api/messaging/search?q=${encodeURIComponent(text)}`;
    const pairs = Array.from({ length: 200 }, () => q(`${pick()} ${pick()}`));
    const singles = Array.from({ length: 200 }, () => q(pick()));
    const search = [
      await load(`search, ${MESSAGES.toLocaleString('en')} stored, two words`, origin, pairs),
      await load(`search, ${MESSAGES.toLocaleString('en')} stored, one word`, origin, singles),
    ];

    const list = '/api/messaging/sessions';
    const deep = await seeder.at((DEEP_PAGE - 1) * PAGE - 1);
    const listed = [
      await load(`list page 1, ${SESSIONS.toLocaleString('en')} stored`, origin, [`${list}?limit=${PAGE}`]),
      await load(`list page ${DEEP_PAGE.toLocaleString('en')} by cursor`, origin, [
        `${list}?limit=${PAGE}&cursor=${cursorOf(deep.createdAt, deep.id)}`,
      ]),
      await load(`list page ${DEEP_PAGE.toLocaleString('en')} by offset`, origin, [
        `${list}?limit=${PAGE}&offset=${(DEEP_PAGE - 1) * PAGE}`,
      ]),
    ];

    // Export: RSS sampled while the transcript streams to a client that reads as fast as it can.
    const rssBefore = rssMb(pid);
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMb(pid))), 20);
    t = Date.now();
    const response = await fetch(`${origin}${list}/${sessionIds[0]}/export?format=ndjson`, { headers: { authorization: `Bearer ${KEY}` } });
    let bytes = 0;
    let lines = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
    clearInterval(sampler);
    const seconds = (Date.now() - t) / 1000;
    if (response.status !== 200 || lines !== EXPORT_MESSAGES + 1) throw new Error(`export: ${response.status}, ${lines} lines`);
    const exported = {
      messages: EXPORT_MESSAGES,
      bytes,
      seconds,
      rssBeforeMb: Math.round(rssBefore),
      rssMaxMb: Math.round(rssMax),
      rssGrowthMb: Math.round((rssMax - rssBefore) * 10) / 10,
      load: loadAverage(),
    };
    console.log(
      `  export of ${EXPORT_MESSAGES.toLocaleString('en')} messages (ndjson, ${(bytes / 2 ** 20).toFixed(1)} MB): ${seconds.toFixed(1)} s, RSS ${exported.rssBeforeMb} → max ${exported.rssMaxMb} MB (+${exported.rssGrowthMb} MB)`,
    );
    return { store: kind, seedSeconds: { messages: messagesSeconds, sessions: sessionsSeconds }, search, list: listed, export: exported };
  } finally {
    await seeder?.close().catch(() => {});
    server?.kill('SIGKILL');
    await database.dispose();
  }
}

const results: StoreResult[] = [];
for (const kind of STORES) results.push(await runStore(kind));
console.log('\n| measure | ' + results.map((r) => r.store).join(' | ') + ' |');
console.log('|---|' + results.map(() => '---:').join('|') + '|');
for (let i = 0; i < results[0]!.search.length; i++) {
  console.log(
    `| ${results[0]!.search[i]!.name} | ${results.map((r) => `p50 ${r.search[i]!.p50} / p99 ${r.search[i]!.p99} ms`).join(' | ')} |`,
  );
}
for (let i = 0; i < results[0]!.list.length; i++) {
  console.log(`| ${results[0]!.list[i]!.name} | ${results.map((r) => `p50 ${r.list[i]!.p50} / p99 ${r.list[i]!.p99} ms`).join(' | ')} |`);
}
console.log(
  `| export of ${EXPORT_MESSAGES.toLocaleString('en')} messages: time, RSS growth | ${results.map((r) => `${r.export.seconds.toFixed(1)} s, +${r.export.rssGrowthMb} MB`).join(' | ')} |`,
);
writeResults('search', SMOKE, {
  settings: {
    seconds: SECONDS,
    connections: CONNECTIONS,
    messages: MESSAGES,
    sessions: SESSIONS,
    deepPage: DEEP_PAGE,
    exportMessages: EXPORT_MESSAGES,
  },
  stores: results,
});
const failed = results.flatMap((r) =>
  [...r.search, ...r.list].filter((m) => m.rps === 0 || m.non2xx > 0).map((m) => `${r.store}: ${m.name}`),
);
if (failed.length > 0) {
  console.error(`\nFAILED: ${failed.join('; ')}`);
  process.exitCode = 1;
}
