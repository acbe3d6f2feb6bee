/**
 * Old against new build of the server, alternately, on the hot routes: the server process's CPU
 * time per request (from /proc), which a machine shared with other work disturbs far less than
 * requests per second. Each arm is a built tree (`npm run build` in it first).
 *
 *   node --import tsx bench/store-ab.ts --old ../other-tree --new . --store sqlite|postgres
 *
 * BENCH_SECONDS (3), BENCH_ROUNDS (4), BENCH_CONNECTIONS (50), BENCH_ROUTES (a comma-separated
 * part of the route names: only those). PostgreSQL and Redis as in
 * bench/http.ts (a fresh database per arm, dropped afterwards).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort, NO_RATE_LIMITS, SERVER_FLAGS } from './support.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback?: string): string => {
  const i = args.indexOf(name);
  const value = i >= 0 ? args[i + 1] : fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const STORE = arg('--store', 'sqlite') as 'sqlite' | 'postgres';
const TREES = { old: resolve(arg('--old')), new: resolve(arg('--new', '.')) };
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEY = 'bench-admin-key-0123456789abcdef';
const ELIZA = '00000000-0000-4000-8000-000000000001';
const USER = '11111111-1111-4111-8111-111111111111';
const PG_URL = process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function start(tree: string, port: number, database: string): Promise<ChildProcess> {
  const env = {
    ...process.env,
    PORT: String(port),
    DATABASE_URL: database,
    ...(STORE === 'postgres' ? { REDIS_URL } : {}),
    SESSIONS_API_KEY: KEY,
    LOG_LEVEL: 'warn',
    ...NO_RATE_LIMITS,
    SESSION_MAX_DURATION_LIMIT_MINUTES: '4320',
  };
  const child = spawn(process.execPath, [...SERVER_FLAGS, join(tree, 'dist/main.js')], {
    cwd: tree,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes('listening on')) ok(child);
    });
    child.once('exit', (code) => fail(new Error(`server exited with ${code}: ${out}`)));
  });
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/** CPU seconds (user + system) the process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Route {
  name: string;
  method: 'GET' | 'POST';
  path: (arm: Arm) => string;
  body?: unknown;
  /** Paths taken in turn (one per connection's session), instead of `path`. */
  paths?: (arm: Arm) => string[];
}

interface Arm {
  name: 'old' | 'new';
  port: number;
  pid: number;
  session: string;
  spread: string[];
  cpu: Record<string, number[]>;
  rps: Record<string, number[]>;
}

const SESSIONS = '/api/messaging/sessions';
const ROUTES: Route[] = [
  { name: 'GET session', method: 'GET', path: (a) => `${SESSIONS}/${a.session}` },
  {
    name: 'POST heartbeat',
    method: 'POST',
    path: (a) => `${SESSIONS}/${a.session}/heartbeat`,
    paths: (a) => a.spread.map((id) => `${SESSIONS}/${id}/heartbeat`),
  },
  { name: 'POST create', method: 'POST', path: () => SESSIONS, body: { agentId: ELIZA, userId: USER } },
  { name: 'GET history (50 of 200)', method: 'GET', path: (a) => `${SESSIONS}/${a.session}/messages?limit=50` },
  // After POST create's rounds: thousands of sessions stored.
  { name: 'GET list (page of 50)', method: 'GET', path: () => `${SESSIONS}?status=active&limit=50` },
  {
    name: 'POST message (ELIZA reply)',
    method: 'POST',
    path: (a) => `${SESSIONS}/${a.session}/messages`,
    body: { content: 'Hello, how are you?' },
    paths: (a) => a.spread.map((id) => `${SESSIONS}/${id}/messages`),
  },
];

async function load(arm: Arm, route: Route, counted = true): Promise<void> {
  const before = cpuSeconds(arm.pid);
  const paths = route.paths?.(arm);
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${arm.port}${route.path(arm)}`,
    method: route.method,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${KEY}`, ...(route.body ? { 'content-type': 'application/json' } : {}) },
    body: route.body ? JSON.stringify(route.body) : undefined,
    ...(paths
      ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, path: paths[next++ % paths.length] }) }] }
      : {}),
  });
  const ok = result['2xx'];
  const cpuUs = ok > 0 ? ((cpuSeconds(arm.pid) - before) * 1e6) / ok : Number.NaN;
  if (!counted) return;
  (arm.cpu[route.name] ??= []).push(cpuUs);
  (arm.rps[route.name] ??= []).push(ok / SECONDS);
  console.log(
    `  ${arm.name}  ${route.name.padEnd(28)} ${(ok / SECONDS).toFixed(0).padStart(7)} req/s ${cpuUs.toFixed(0).padStart(6)} µs CPU/request  non-2xx ${result.non2xx}`,
  );
}

/** BENCH_ROUTES: only the routes whose name contains one of these (comma-separated). */
const only = process.env.BENCH_ROUTES?.split(',').map((r) => r.trim().toLowerCase());
const SELECTED = only ? ROUTES.filter((r) => only.some((o) => r.name.toLowerCase().includes(o))) : ROUTES;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-ab-'));
  const children: ChildProcess[] = [];
  const databases: string[] = [];
  try {
    const arms: Arm[] = [];
    for (const name of ['old', 'new'] as const) {
      let database = join(dir, `${name}.db`);
      if (STORE === 'postgres') {
        const db = `agent_sessions_ab_${randomBytes(4).toString('hex')}`;
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        await admin.query(`create database ${db}`);
        await admin.end();
        databases.push(db);
        const url = new URL(PG_URL);
        url.pathname = `/${db}`;
        database = url.toString();
      }
      const port = await freePort();
      const child = await start(TREES[name], port, database);
      children.push(child);
      const base = `http://127.0.0.1:${port}${SESSIONS}`;
      const create = async () =>
        (await api(base, 'POST', '', { agentId: ELIZA, userId: USER, timeoutConfig: { maxDurationMinutes: 4320 } })).sessionId as string;
      const session = await create();
      for (let m = 0; m < 100; m++) await api(base, 'POST', `/${session}/messages`, { content: `warm-up ${m}`, transport: 'http' });
      const spread: string[] = [];
      for (let c = 0; c < CONNECTIONS; c++) spread.push(await create());
      arms.push({ name, port, pid: child.pid!, session, spread, cpu: {}, rps: {} });
    }
    const load1 = process.env.BENCH_LOAD ?? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`${STORE}: ${ROUNDS} rounds, ${SECONDS} s per route, ${CONNECTIONS} connections; load average ${load1}`);
    // A round first that is not counted: both servers' code gets compiled by V8 before any figure.
    for (const route of SELECTED) for (const arm of arms) await load(arm, route, false);
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? arms : [...arms].reverse();
      for (const route of SELECTED) for (const arm of order) await load(arm, route);
    }
    console.log(`\n| route (${STORE}) | old µs CPU/req | new µs CPU/req | new/old | old req/s | new req/s |`);
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const route of SELECTED) {
      const [o, n] = arms.map((a) => median(a.cpu[route.name]!));
      const [or, nr] = arms.map((a) => median(a.rps[route.name]!));
      console.log(
        `| ${route.name} | ${o!.toFixed(0)} | ${n!.toFixed(0)} | ${((n! / o!) * 100).toFixed(0)} % | ${or!.toFixed(0)} | ${nr!.toFixed(0)} |`,
      );
    }
    console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  } finally {
    // Stopped before their databases are dropped, which would cut their connections.
    await Promise.all(
      children.map((child) => {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill();
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
    if (databases.length > 0) {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      for (const db of databases) await admin.query(`drop database if exists ${db} with (force)`);
      await admin.end();
    }
  }
}

await main();
