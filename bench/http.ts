/**
 * Hot-path benchmark (not a test). For each store (embedded SQLite; scaled PostgreSQL + Redis)
 * it starts a bare `node:http` server answering a SessionInfo-sized JSON body and agent-sessions,
 * each in its own process, drives every route with autocannon from this process, and reports
 * each route's throughput as a share of the bare server's in the same run (heartbeats and
 * messages go to as many sessions as connections, in turn; the reads to one session). Then:
 * - the list (page of 50; no filter, agent filter, status filter) with 10,000 and 1,000,000
 *   sessions stored, seeded in bulk through the store (`importSessions`), measured over HTTP (p99);
 * - the expiry burst: 100,000 sessions expiring within one minute, and how late each
 *   `session.expired` was stored and published (max, p99);
 * - the server's RSS after the routes (10k stored), after the 1M list, and at the end;
 * - webhooks: 1,000 events/s delivered to a local receiver, and the lag (bench/webhooks.ts).
 * Prints a table and writes bench/results/latest.json. Then bench/search.ts (search, deep list
 * pages by cursor, export; `--no-search` skips it).
 *
 *   npm run build && npm run bench                  # both stores
 *   npm run bench -- --store sqlite                 # one store
 *   npm run bench -- --smoke                        # a few seconds, small seeds (CI)
 *   npm run bench -- --webhooks-only              # only the webhook delivery figure (bench/webhooks.ts)
 *   npm run bench -- --burst-only                 # only the expiry burst, on a fresh database per store
 *   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 npm run bench
 *
 * PostgreSQL and Redis come from DATABASE_URL / REDIS_URL (a fresh database is created next to
 * DATABASE_URL's and dropped afterwards), else postgres://postgres@127.0.0.1:5432/postgres and
 * redis://127.0.0.1:6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import BetterSqlite3 from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { LifecycleFlags } from '../src/domain/schedule.js';
import type { Session } from '../src/domain/session.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';
import { freePort, loadAverage, NO_RATE_LIMITS, SERVER_ARGV, writeResults } from './support.js';
import { webhookFigure, type WebhookBenchResult } from './webhooks.js';

const args = process.argv.slice(2);
const SMOKE = args.includes('--smoke');
const WEBHOOKS_ONLY = args.includes('--webhooks-only');
const BURST_ONLY = args.includes('--burst-only');
const storeArg = args.includes('--store') ? args[args.indexOf('--store') + 1] : 'both';
if (!['sqlite', 'postgres', 'both'].includes(storeArg ?? '')) throw new Error('--store sqlite|postgres|both');
const STORES = (storeArg === 'both' ? ['sqlite', 'postgres'] : [storeArg]) as Array<'sqlite' | 'postgres'>;

const SECONDS = Number(process.env.BENCH_SECONDS ?? (SMOKE ? 1 : 5));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? (SMOKE ? 10 : 50));
const LIST_SECONDS = SMOKE ? 1 : 3;
const LIST_CONNECTIONS = 10;
const SMALL = SMOKE ? 1_000 : 10_000;
const LARGE = SMOKE ? 5_000 : 1_000_000;
const BURST = SMOKE ? 1_000 : 100_000;
const BURST_SPREAD_MS = SMOKE ? 2_000 : 60_000;
/**
 * From the start of the burst's seeding to its first expiry: longer than the seeding takes on a
 * busy machine (PostgreSQL: 37 s at load average 9), so that no session is stored already due.
 */
const BURST_LEAD_MS = SMOKE ? 2_000 : 60_000;
const HISTORY_EXCHANGES = SMOKE ? 30 : 100; // two messages each: 200 stored
const AGENTS = 10;
const KEY = 'bench-admin-key-0123456789abcdef';
const ELIZA = '00000000-0000-4000-8000-000000000001';
const USER = '11111111-1111-4111-8111-111111111111';
const BURST_AGENT = '22222222-2222-4222-8222-222222222222';
const SEED_AGENTS = Array.from({ length: AGENTS }, (_, i) => `33333333-3333-4333-8333-${String(i).padStart(12, '0')}`);
const PG_URL = process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MIN = 60_000;
/** The channel the scaled mode's instances publish stored events on (src/realtime/redis-fanout.ts). */
const FANOUT_CHANNEL = 'agent-sessions:events';
/** Free ports, so a server left over from an interrupted run cannot stand in the way. */
const BARE_PORT = await freePort();

const BARE_SERVER = `
const http = require('node:http');
const body = ${JSON.stringify({
  sessionId: 'fe8e19cd-e70b-4f80-88cc-6aaf3b86263a',
  channelId: '428260bf-4dc5-4f90-aacb-1a28ff7a85fb',
  agentId: ELIZA,
  userId: USER,
  status: 'active',
  createdAt: '2026-11-21T05:28:36.363Z',
  lastActivity: '2026-11-21T05:28:36.363Z',
  expiresAt: '2026-11-21T05:58:36.363Z',
  timeoutConfig: { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 },
  renewalCount: 0,
  timeRemaining: 1800000,
  isNearExpiration: false,
  metadata: {},
  replyPolicy: 'enqueue',
})};
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
`;

interface RouteResult {
  route: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  share?: number;
}

interface BurstResult {
  sessions: number;
  emitted: number;
  maxLateMs: number;
  p99LateMs: number;
  p50LateMs: number;
  published?: number;
  maxPublishLateMs?: number;
  p99PublishLateMs?: number;
  p50PublishLateMs?: number;
  /** The 1-minute load average at the first expiry and when the lateness was read. */
  load: { start: number; end: number };
}

interface StoreResult {
  store: 'sqlite' | 'postgres';
  /** The bare server, measured just before this store's routes (the machine's load changes). */
  bare: RouteResult;
  routes: RouteResult[];
  lists: Array<{ stored: number; filter: string; rps: number; p50: number; p99: number; non2xx: number }>;
  burst: BurstResult;
  rssMb: { afterRoutes: number; at10k: number; at1M: number; end: number };
}

function start(argv: string[], env: Record<string, string>, readyText: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes(readyText)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

function rssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function load(
  name: string,
  url: string,
  method: 'GET' | 'POST',
  body?: unknown,
  options: { seconds?: number; connections?: number; quiet?: boolean; paths?: string[] } = {},
): Promise<RouteResult> {
  const seconds = options.seconds ?? SECONDS;
  let next = 0;
  const paths = options.paths;
  const result = await autocannon({
    url,
    method,
    connections: options.connections ?? CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    // Several sessions in turn (as many clients do), rather than every request on one.
    ...(paths
      ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, path: paths[next++ % paths.length] }) }] }
      : {}),
  });
  const r = { route: name, rps: result['2xx'] / seconds, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
  if (!options.quiet) {
    console.log(
      `  ${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms   non-2xx ${r.non2xx}`,
    );
  }
  return r;
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<{ sessionId: string }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { sessionId: string };
}

// ---- bulk seeding, through the store ----------------------------------------------------------

interface Seeder {
  /** Adds `count` sessions created over the last 20 h, 30 min timeout; the expired ones processed. */
  seedSessions(count: number, now: number): Promise<void>;
  /** Adds sessions of BURST_AGENT expiring evenly over [from, from + spread). */
  seedBurst(count: number, from: number, spread: number): Promise<void>;
  /** Lateness (ms) of every stored session.expired of the burst. */
  burstLateness(): Promise<number[]>;
  close(): Promise<void>;
}

const SPAN_MS = 20 * 60 * MIN;
const TIMEOUT_MS = 30 * MIN;
/** Sessions built in memory and handed to the store at a time. */
const SEED_BATCH = 50_000;

function seedSession(agentId: string, createdAt: number): Session {
  return {
    id: randomUUID(),
    channelId: randomUUID(),
    agentId,
    userId: randomUUID(),
    metadata: {},
    config: { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 },
    replyPolicy: 'enqueue',
    createdAt,
    lastActivity: createdAt,
    lastRenewal: createdAt,
    expiresAt: createdAt + TIMEOUT_MS,
    renewalCount: 0,
    lastMessageAt: null,
  };
}

/**
 * Seeds through a second store on the server's database (`Store.importSessions`: bulk inserts
 * that move the list's counters as the server's own writes do); reads lateness with plain SQL.
 */
function storeSeeder(store: Store, lateness: () => Promise<number[]>, afterSeed: () => Promise<void>): Seeder {
  const importAll = async (count: number, make: (i: number) => { session: Session; flags: LifecycleFlags }) => {
    await store.migrate();
    for (let done = 0; done < count; done += SEED_BATCH) {
      const batch = Array.from({ length: Math.min(SEED_BATCH, count - done) }, (_, j) => make(done + j));
      await store.importSessions(batch);
    }
    await afterSeed();
  };
  return {
    seedSessions: (count, now) =>
      importAll(count, (i) => {
        const session = seedSession(SEED_AGENTS[i % AGENTS]!, now - SPAN_MS + Math.floor((i * SPAN_MS) / count));
        const expired = session.expiresAt <= now;
        return { session, flags: { warned: expired, expiryEmitted: expired } };
      }),
    seedBurst: (count, from, spread) =>
      importAll(count, (i) => ({
        session: seedSession(BURST_AGENT, from + Math.floor((i * spread) / count) - TIMEOUT_MS),
        flags: { warned: true, expiryEmitted: false },
      })),
    burstLateness: lateness,
    close: () => store.close(),
  };
}

function sqliteSeeder(path: string): Seeder {
  const db = new BetterSqlite3(path, { readonly: true });
  return storeSeeder(
    openSqliteStore(path),
    async () => {
      const rows = db
        .prepare(
          `select e.at - s.expires_at as late from events e join sessions s on s.id = e.session_id
                  where s.agent_id = ? and e.type = 'session.expired'`,
        )
        .pluck()
        .all(BURST_AGENT) as number[];
      return rows.map(Number);
    },
    async () => {},
  );
}

function postgresSeeder(url: string): Seeder {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const store = openPostgresStore(url, 2);
  const seeder = storeSeeder(
    store,
    async () => {
      const { rows } = await pool.query<{ late: string | number }>(
        `select e.at - s.expires_at as late from events e join sessions s on s.id = e.session_id
         where s.agent_id = $1 and e.type = 'session.expired'`,
        [BURST_AGENT],
      );
      return rows.map((r) => Number(r.late));
    },
    // What autovacuum does soon after a bulk load anyway, done before measuring.
    async () => {
      await pool.query('vacuum analyze sessions');
    },
  );
  return {
    ...seeder,
    async close() {
      await seeder.close();
      await pool.end();
    },
  };
}

/** What the bench reads of an event published on Redis. */
interface PublishedEvent {
  type?: string;
  data?: { agentId?: string; expiresAt?: string };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// ---- one store -----------------------------------------------------------------------------------

/** The server on a fresh database of `kind`, with a seeder on that database. */
interface BenchServer {
  server: ChildProcess;
  seeder: Seeder;
  origin: string;
}

/** Runs `work` against a server on a fresh database; removes the server and the database after. */
async function withBenchServer<T>(kind: 'sqlite' | 'postgres', work: (bench: BenchServer) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-bench-'));
  let databaseUrl = join(dir, 'bench.db');
  let dropDatabase: (() => Promise<void>) | undefined;
  if (kind === 'postgres') {
    const name = `agent_sessions_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  const port = await freePort();
  let server: ChildProcess | undefined;
  let seeder: Seeder | undefined;
  try {
    server = await start(
      SERVER_ARGV,
      {
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        ...(kind === 'postgres' ? { REDIS_URL } : {}),
        SESSIONS_API_KEY: KEY,
        LOG_LEVEL: 'warn',
        ...NO_RATE_LIMITS,
        SESSION_MAX_DURATION_LIMIT_MINUTES: '4320',
      },
      'listening on',
    );
    seeder = kind === 'sqlite' ? sqliteSeeder(databaseUrl) : postgresSeeder(databaseUrl);
    return await work({ server, seeder, origin: `http://127.0.0.1:${port}` });
  } finally {
    await seeder?.close().catch(() => {});
    server?.kill('SIGKILL');
    await dropDatabase?.().catch((e) => console.error('could not drop the bench database:', e));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The expiry burst: BURST sessions expiring evenly within BURST_SPREAD_MS, starting
 * BURST_LEAD_MS after their seeding starts; how late each `session.expired` was stored and, on the
 * scaled mode, published on Redis (a subscriber of the fan-out channel).
 */
async function measureBurst(kind: 'sqlite' | 'postgres', seeder: Seeder): Promise<BurstResult> {
  const published: number[] = [];
  let subscriber: Redis | undefined;
  if (kind === 'postgres') {
    subscriber = new Redis(REDIS_URL);
    await subscriber.subscribe(FANOUT_CHANNEL);
    subscriber.on('message', (_c: string, text: string) => {
      const seenAt = Date.now();
      try {
        const parsed = JSON.parse(text) as PublishedEvent | PublishedEvent[];
        for (const event of [parsed].flat()) {
          if (event?.type === 'session.expired' && event.data?.agentId === BURST_AGENT && event.data.expiresAt !== undefined) {
            const due = Date.parse(event.data.expiresAt);
            published.push(seenAt - due);
          }
        }
      } catch {
        // not an event
      }
    });
  }
  const from = Date.now() + BURST_LEAD_MS;
  const t = Date.now();
  await seeder.seedBurst(BURST, from, BURST_SPREAD_MS);
  // Sessions stored after their expiry would count as late however fast the scheduler is.
  const margin = from - Date.now();
  console.log(
    `  (seeded ${BURST.toLocaleString('en')} sessions expiring within ${BURST_SPREAD_MS / 1000} s in ${((Date.now() - t) / 1000).toFixed(1)} s, ` +
      (margin >= 0
        ? `${(margin / 1000).toFixed(1)} s before the first expiry)`
        : `${(-margin / 1000).toFixed(1)} s AFTER the first expiry)`),
  );
  await new Promise((r) => setTimeout(r, Math.max(0, from - Date.now())));
  const loadAtStart = loadAverage();
  await new Promise((r) => setTimeout(r, Math.max(0, from + BURST_SPREAD_MS + 3000 - Date.now())));
  let late = await seeder.burstLateness();
  // The smoke run checks that the burst gets emitted at all, on however busy a machine: it
  // waits up to 30 s more for the stragglers (their lateness is reported as measured).
  for (const until = Date.now() + 30_000; SMOKE && late.length < BURST && Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 500));
    late = await seeder.burstLateness();
  }
  await subscriber?.quit();
  const burst: BurstResult = {
    sessions: BURST,
    emitted: late.length,
    maxLateMs: Math.max(...late),
    p99LateMs: percentile(late, 99),
    p50LateMs: percentile(late, 50),
    ...(kind === 'postgres'
      ? {
          published: published.length,
          maxPublishLateMs: Math.max(...published),
          p99PublishLateMs: percentile(published, 99),
          p50PublishLateMs: percentile(published, 50),
        }
      : {}),
    load: { start: loadAtStart, end: loadAverage() },
  };
  console.log(
    `  expiry burst: ${burst.emitted}/${BURST} session.expired stored, late p50 ${burst.p50LateMs} ms, p99 ${burst.p99LateMs} ms, max ${burst.maxLateMs} ms` +
      (kind === 'postgres'
        ? `; published ${burst.published}, p50 ${burst.p50PublishLateMs} ms, p99 ${burst.p99PublishLateMs} ms, max ${burst.maxPublishLateMs} ms`
        : '') +
      `; load average ${burst.load.start} → ${burst.load.end}`,
  );
  return burst;
}

async function runStore(kind: 'sqlite' | 'postgres'): Promise<StoreResult> {
  return withBenchServer(kind, async ({ server, seeder, origin }) => {
    const base = `${origin}/api/messaging/sessions`;
    const { sessionId } = await api(base, 'POST', '', { agentId: ELIZA, userId: USER, timeoutConfig: { maxDurationMinutes: 4320 } });
    for (let i = 0; i < HISTORY_EXCHANGES; i++) {
      await api(base, 'POST', `/${sessionId}/messages`, { content: `warm-up ${i}`, transport: 'http' });
    }
    // The writes on one session each are measured over as many sessions as connections.
    const spread: string[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      spread.push((await api(base, 'POST', '', { agentId: ELIZA, userId: USER, timeoutConfig: { maxDurationMinutes: 4320 } })).sessionId);
    }
    const paths = (suffix: string) => spread.map((id) => `/api/messaging/sessions/${id}${suffix}`);

    console.log(
      `\n${kind === 'sqlite' ? 'embedded (SQLite)' : 'scaled (PostgreSQL + Redis)'}: ${SECONDS} s per route, ${CONNECTIONS} connections`,
    );
    const bare = await load('bare node:http', `http://127.0.0.1:${BARE_PORT}/`, 'GET');
    const routes: RouteResult[] = [
      await load('GET /healthz', `${origin}/healthz`, 'GET'),
      await load('GET session', `${base}/${sessionId}`, 'GET'),
      await load('POST heartbeat', `${base}/${sessionId}/heartbeat`, 'POST', undefined, { paths: paths('/heartbeat') }),
      await load('POST create', base, 'POST', { agentId: ELIZA, userId: USER }),
      await load('GET history (limit 50 of 200)', `${base}/${sessionId}/messages?limit=50`, 'GET'),
      await load(
        'POST message (ELIZA reply stored)',
        `${base}/${sessionId}/messages`,
        'POST',
        { content: 'Hello, how are you?' },
        { paths: paths('/messages') },
      ),
    ];
    for (const r of routes) r.share = r.rps / bare.rps;
    const afterRoutes = rssMb(server);

    const lists: StoreResult['lists'] = [];
    const measureLists = async (stored: number) => {
      const filters: Array<[string, string]> = [
        ['no filter', '?limit=50'],
        ['agent filter', `?limit=50&agentId=${SEED_AGENTS[3]}`],
        ['status=expired', '?limit=50&status=expired'],
      ];
      for (const [filter, query] of filters) {
        const r = await load(`GET list, ${stored.toLocaleString('en')} stored, ${filter}`, `${base}${query}`, 'GET', undefined, {
          seconds: LIST_SECONDS,
          connections: LIST_CONNECTIONS,
        });
        lists.push({ stored, filter, rps: r.rps, p50: r.p50, p99: r.p99, non2xx: r.non2xx });
      }
    };
    const now = Date.now();
    let t = Date.now();
    await seeder.seedSessions(SMALL, now);
    console.log(`  (seeded ${SMALL.toLocaleString('en')} sessions in ${((Date.now() - t) / 1000).toFixed(1)} s)`);
    await measureLists(SMALL);
    const at10k = rssMb(server);
    t = Date.now();
    await seeder.seedSessions(LARGE - SMALL, now);
    console.log(`  (seeded ${(LARGE - SMALL).toLocaleString('en')} more in ${((Date.now() - t) / 1000).toFixed(1)} s)`);
    await measureLists(LARGE);
    const at1M = rssMb(server);

    const burst = await measureBurst(kind, seeder);
    const end = rssMb(server);
    console.log(
      `  server RSS: ${afterRoutes} MB after the routes, ${at10k} MB at ${SMALL.toLocaleString('en')} stored, ${at1M} MB at ${LARGE.toLocaleString('en')}, ${end} MB at the end`,
    );
    return { store: kind, bare, routes, lists, burst, rssMb: { afterRoutes, at10k, at1M, end } };
  });
}

/** `--burst-only`: the expiry burst alone, per store, on a database holding nothing else. */
async function burstOnly(): Promise<void> {
  const bursts: Array<{ store: string } & BurstResult> = [];
  for (const kind of STORES) {
    console.log(`\n${kind === 'sqlite' ? 'embedded (SQLite)' : 'scaled (PostgreSQL + Redis)'}: expiry burst alone`);
    bursts.push({ store: kind, ...(await withBenchServer(kind, ({ seeder }) => measureBurst(kind, seeder))) });
  }
  console.log(`results: ${writeResults('burst', SMOKE, { bursts })}`);
  const missing = bursts.filter((b) => b.emitted !== BURST).map((b) => `${b.store}: expiry burst ${b.emitted}/${BURST}`);
  if (missing.length > 0) {
    console.error(`\nFAILED: ${missing.join('; ')}`);
    process.exitCode = 1;
  }
}

async function webhookFigures(): Promise<Array<{ store: string } & WebhookBenchResult>> {
  const figures = [];
  for (const kind of STORES) {
    const result = await webhookFigure(kind, { pgUrl: PG_URL, redisUrl: REDIS_URL, smoke: SMOKE });
    figures.push({ store: kind, ...result });
    console.log(
      `| webhooks ${kind}, ${result.targetRate}/s for ${result.sent} events | stored ${result.storedPerSecond}/s, delivered ${result.deliveredPerSecond}/s ` +
        `(${result.delivered}/${result.stored}, ${result.duplicates} duplicates) | lag p50 ${result.lagMs.p50} / p99 ${result.lagMs.p99} / max ${result.lagMs.max} ms |`,
    );
  }
  return figures;
}

const webhooksMissing = (figures: Array<{ store: string } & WebhookBenchResult>) =>
  figures
    .filter((f) => f.delivered !== f.stored || f.duplicates > 0)
    .map((f) => `${f.store}: webhooks ${f.delivered}/${f.stored} delivered, ${f.duplicates} duplicates`);

async function main(): Promise<void> {
  if (BURST_ONLY) return burstOnly();
  if (WEBHOOKS_ONLY) {
    const missing = webhooksMissing(await webhookFigures());
    if (missing.length > 0) {
      console.error(`\nFAILED: ${missing.join('; ')}`);
      process.exitCode = 1;
    }
    return;
  }
  const bareServer = await start(['-e', BARE_SERVER], { PORT: String(BARE_PORT) }, 'ready');
  const results: StoreResult[] = [];
  try {
    for (const kind of STORES) results.push(await runStore(kind));
  } finally {
    bareServer.kill('SIGKILL');
  }

  console.log('\n| route | ' + results.map((r) => `${r.store} req/s | share`).join(' | ') + ' |');
  console.log('|---|' + results.map(() => '---:|---:').join('|') + '|');
  console.log(`| bare node:http | ${results.map((r) => `${r.bare.rps.toFixed(0)} | 100 %`).join(' | ')} |`);
  for (let i = 0; i < results[0]!.routes.length; i++) {
    const name = results[0]!.routes[i]!.route;
    console.log(
      `| ${name} | ${results.map((r) => `${r.routes[i]!.rps.toFixed(0)} | ${((r.routes[i]!.share ?? 0) * 100).toFixed(1)} %`).join(' | ')} |`,
    );
  }
  for (let i = 0; i < results[0]!.lists.length; i++) {
    const l = results[0]!.lists[i]!;
    console.log(
      `| GET list, ${l.stored.toLocaleString('en')} stored, ${l.filter} | ${results.map((r) => `${r.lists[i]!.rps.toFixed(0)} | p50 ${r.lists[i]!.p50} / p99 ${r.lists[i]!.p99} ms`).join(' | ')} |`,
    );
  }
  console.log(
    `| expiry burst (${BURST.toLocaleString('en')}), late p99 / max | ${results.map((r) => `${r.burst.emitted} | ${r.burst.p99LateMs} / ${r.burst.maxLateMs} ms`).join(' | ')} |`,
  );
  console.log(
    `| RSS at ${SMALL.toLocaleString('en')} / ${LARGE.toLocaleString('en')} / end | ${results.map((r) => `${r.rssMb.at10k} / ${r.rssMb.at1M} / ${r.rssMb.end} MB | `).join(' | ')} |`,
  );

  const webhooks = await webhookFigures();

  const failed = results.flatMap((r) =>
    [...r.routes, ...r.lists].filter((x) => x.rps === 0 || x.non2xx > 0).map((x) => `${r.store}: ${'route' in x ? x.route : x.filter}`),
  );
  const missing = [
    ...results.filter((r) => r.burst.emitted !== BURST).map((r) => `${r.store}: expiry burst ${r.burst.emitted}/${BURST}`),
    ...webhooksMissing(webhooks),
  ];
  const output = {
    date: new Date().toISOString(),
    smoke: SMOKE,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: { seconds: SECONDS, connections: CONNECTIONS, listSeconds: LIST_SECONDS, listConnections: LIST_CONNECTIONS },
    stores: results,
    webhooks,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    SMOKE ? join(tmpdir(), 'agent-sessions-bench-smoke.json') : 'bench/results/latest.json',
    JSON.stringify(output, null, 2) + '\n',
  );
  if (failed.length > 0 || missing.length > 0) {
    console.error(`\nFAILED: ${[...failed, ...missing].join('; ')}`);
    process.exitCode = 1;
  }
}

await main();
// Then search, deep list pages and export (bench/search.ts reads the same arguments).
if (!args.includes('--no-search') && !BURST_ONLY) await import('./search.js');
