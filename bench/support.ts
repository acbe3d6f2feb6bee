/**
 * What the benchmarks share: starting the server (or any process) and waiting for it, loading it
 * with autocannon, percentiles and medians, a process's RSS and CPU time from /proc, a throwaway
 * PostgreSQL database, the machine's description and load average, and the results file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';

export type StoreKind = 'sqlite' | 'postgres';

export const PG_URL = process.env.DATABASE_URL?.startsWith('postgres')
  ? process.env.DATABASE_URL
  : 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The command line every benchmark reads: `--smoke`, `--store sqlite|postgres|both`. */
export function benchArgs(argv = process.argv.slice(2)): { args: string[]; smoke: boolean; stores: StoreKind[] } {
  const store = argv.includes('--store') ? argv[argv.indexOf('--store') + 1] : 'both';
  if (store !== 'both' && store !== 'sqlite' && store !== 'postgres') throw new Error(`--store ${String(store)}: sqlite, postgres or both`);
  return { args: argv, smoke: argv.includes('--smoke'), stores: store === 'both' ? ['sqlite', 'postgres'] : [store] };
}

/** Rate limits far above anything a benchmark sends. */
export const NO_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_SESSION_PER_MINUTE: '100000000',
  RATE_LIMIT_USER_PER_HOUR: '100000000',
  RATE_LIMIT_AGENT_PER_HOUR: '100000000',
  RATE_LIMIT_KEY_PER_MINUTE: '100000000',
};

/** How long a process may take to show its ready text (a server migrating a large database included). */
const START_DEADLINE_MS = 120_000;

/**
 * Starts `node <argv>` and resolves once its standard output has shown `readyText`; a process
 * that exits first, or shows nothing for START_DEADLINE_MS, fails the benchmark (killed) rather
 * than hanging it.
 */
export function startProcess(argv: string[], env: Record<string, string>, readyText: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process not ready after ${START_DEADLINE_MS / 1000} s: ${out}`));
    }, START_DEADLINE_MS);
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes(readyText)) {
        clearTimeout(deadline);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(deadline);
      reject(new Error(`process exited with ${code}: ${out}`));
    });
  });
}

/**
 * How `npm start` runs the server (package.json): V8's young generation capped at 4 MB a half,
 * the heap at 1 GB (docs/deployment.md).
 */
export const SERVER_FLAGS = ['--max-semi-space-size=4', '--max-old-space-size=1024'];
export const SERVER_ARGV = [...SERVER_FLAGS, 'dist/main.js'];

/** The built server (dist/main.js) on `port` with `databaseUrl`, the key `key`, no rate limits, warnings only. */
export function startServer(options: {
  port: number;
  databaseUrl: string;
  key: string;
  redisUrl?: string;
  env?: Record<string, string>;
}): Promise<ChildProcess> {
  return startProcess(
    SERVER_ARGV,
    {
      PORT: String(options.port),
      DATABASE_URL: options.databaseUrl,
      ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
      SESSIONS_API_KEY: options.key,
      LOG_LEVEL: 'warn',
      ...NO_RATE_LIMITS,
      ...options.env,
    },
    'listening on',
  );
}

/** A port nothing listens on now (other benchmarks may hold fixed ones). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A process's resident memory in MB (VmRSS, Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** CPU seconds (user + system) a process has used (Linux; USER_HZ 100). */
export function cpuSeconds(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The p-th percentile (nearest rank); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The 1-minute load average, one decimal: recorded beside every figure (the machine is shared). */
export const loadAverage = (): number => Math.round((loadavg()[0] ?? 0) * 10) / 10;

export interface LoadOptions {
  name: string;
  /** Origin and first path. */
  url: string;
  key: string;
  seconds: number;
  connections: number;
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Paths requested in turn (several sessions or queries rather than one). */
  paths?: string[];
  quiet?: boolean;
  /** Padding of the name in the printed line. */
  width?: number;
}

export interface LoadResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** The 1-minute load average when the run ended. */
  load: number;
}

/** Loads `url` with autocannon for `seconds`; prints one line unless `quiet`. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const paths = options.paths;
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    connections: options.connections,
    duration: options.seconds,
    headers: { authorization: `Bearer ${options.key}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    ...(paths
      ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, path: paths[next++ % paths.length] }) }] }
      : {}),
  });
  const r: LoadResult = {
    name: options.name,
    rps: result['2xx'] / options.seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    load: loadAverage(),
  };
  if (!options.quiet) {
    console.log(
      `  ${options.name.padEnd(options.width ?? 52)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms   non-2xx ${r.non2xx}   load ${r.load}`,
    );
  }
  return r;
}

/** One JSON request with the key; throws unless 2xx. */
export async function api<T = unknown>(base: string, key: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Runs one statement on its own connection. */
export async function pgQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  /** A SQLite file path or a PostgreSQL URL. */
  url: string;
  /** Drops the PostgreSQL database, removes the temporary directory. */
  dispose(): Promise<void>;
}

/**
 * A fresh database of the kind: a file in a temporary directory, or a new PostgreSQL database on
 * `pgUrl`'s server. `BENCH_KEEP_DATABASE=1` keeps it afterwards (and says where), to look at the
 * plans of what was measured.
 */
export async function benchDatabase(kind: StoreKind, pgUrl = PG_URL): Promise<BenchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-bench-'));
  const keep = process.env.BENCH_KEEP_DATABASE === '1';
  if (kind === 'sqlite') {
    const file = join(dir, 'bench.db');
    return {
      url: file,
      dispose: () => Promise.resolve(keep ? console.log(`  (kept ${file})`) : rmSync(dir, { recursive: true, force: true })),
    };
  }
  const name = `agent_sessions_bench_${randomBytes(4).toString('hex')}`;
  await pgQuery(pgUrl, `create database ${name}`);
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async dispose() {
      if (keep) return console.log(`  (kept ${url.toString()})`);
      rmSync(dir, { recursive: true, force: true });
      await pgQuery(pgUrl, `drop database if exists ${name} with (force)`).catch((e: unknown) =>
        console.error('could not drop the bench database:', e),
      );
    },
  };
}

export function machine() {
  return { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/**
 * Writes `bench/results/<name>.json` (a `--smoke` run: a temporary file) with the date, the
 * machine, the load average now, and `data`; returns the path.
 */
export function writeResults(name: string, smoke: boolean, data: Record<string, unknown>): string {
  const output = {
    date: new Date().toISOString(),
    smoke,
    machine: machine(),
    loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
    ...data,
  };
  const path = smoke ? join(tmpdir(), `agent-sessions-bench-${name}-smoke.json`) : join('bench/results', `${name}.json`);
  if (!smoke) mkdirSync('bench/results', { recursive: true });
  writeFileSync(path, JSON.stringify(output, null, 2) + '\n');
  return path;
}
