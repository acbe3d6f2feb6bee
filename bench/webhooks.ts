/**
 * Webhook delivery benchmark (part of `npm run bench`): the server (dist/main.js) in its own
 * process, a webhook for `session.renewed` pointing at a node:http receiver in this process,
 * and renewals sent at a fixed rate over many sessions for a few seconds. Reports the rate of
 * events stored and delivered and the lag from each event's `at` to its arrival at the
 * receiver (p50, p99, max). Target (issue 11): 1,000 events/s with p99 lag ≤ 1 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

export interface WebhookBenchOptions {
  databaseUrl: string;
  redisUrl?: string;
  port: number;
  /** Events per second sent. */
  rate: number;
  seconds: number;
  sessions: number;
}

export interface WebhookBenchResult {
  targetRate: number;
  sent: number;
  stored: number;
  delivered: number;
  duplicates: number;
  storedPerSecond: number;
  deliveredPerSecond: number;
  lagMs: { p50: number; p99: number; max: number };
}

const KEY = 'bench-webhooks-key-0123456789abcdef';
const ELIZA = '00000000-0000-4000-8000-000000000001';
const USER = '11111111-1111-4111-8111-111111111111';

function startServer(options: WebhookBenchOptions): Promise<ChildProcess> {
  const env = {
    ...process.env,
    PORT: String(options.port),
    DATABASE_URL: options.databaseUrl,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    SESSIONS_API_KEY: KEY,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_SESSION_PER_MINUTE: '100000000',
    RATE_LIMIT_USER_PER_HOUR: '100000000',
    RATE_LIMIT_AGENT_PER_HOUR: '100000000',
    RATE_LIMIT_KEY_PER_MINUTE: '100000000',
  };
  const child = spawn(process.execPath, ['dist/main.js'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes('listening on')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

/** A port nothing listens on now (other benchmarks may hold the fixed ones). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

export async function runWebhookBench(options: WebhookBenchOptions): Promise<WebhookBenchResult> {
  const lags: number[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let lastArrival = 0;
  const receiver: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const arrived = Date.now();
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { at: string; eventId: string };
      if (seen.has(event.eventId)) duplicates++;
      else {
        seen.add(event.eventId);
        lags.push(arrived - Date.parse(event.at));
      }
      lastArrival = arrived;
      res.writeHead(204).end();
    });
  });
  receiver.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const server = await startServer(options);
  const origin = `http://127.0.0.1:${options.port}`;
  const dispatcher = new Agent({ connections: 64, pipelining: 1 });
  const call = async (method: 'POST' | 'GET', path: string, body?: unknown) => {
    const res = await request(origin + path, {
      method,
      dispatcher,
      headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  };
  try {
    const hook = await call('POST', '/api/webhooks', { url: receiverUrl, events: ['session.renewed'] });
    if (hook.status !== 201) throw new Error(`webhook create: ${hook.status}`);
    const ids: string[] = [];
    for (let i = 0; i < options.sessions; i++) {
      const s = await call('POST', '/api/messaging/sessions', { agentId: ELIZA, userId: USER, timeoutConfig: { timeoutMinutes: 1440, maxDurationMinutes: 4320 } });
      if (s.status !== 201) throw new Error(`session create: ${s.status}`);
      ids.push(s.body.sessionId);
    }

    // Renewals at the target rate, in ticks of 10 ms, round-robin over the sessions.
    const total = options.rate * options.seconds;
    const perTick = options.rate / 100;
    let sent = 0;
    let stored = 0;
    const inflight = new Set<Promise<void>>();
    const started = Date.now();
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 10 + 1) * perTick));
      for (; sent < due; sent++) {
        const id = ids[sent % ids.length]!;
        const p: Promise<void> = call('POST', `/api/messaging/sessions/${id}/renew`)
          .then((r) => void (r.status === 200 && stored++))
          .catch(() => {})
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all([...inflight]);
    const sendSeconds = (Date.now() - started) / 1000;
    const deadline = Date.now() + 60_000;
    while (seen.size < stored && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sorted = [...lags].sort((a, b) => a - b);
    return {
      targetRate: options.rate,
      sent,
      stored,
      delivered: seen.size,
      duplicates,
      storedPerSecond: Math.round(stored / sendSeconds),
      deliveredPerSecond: Math.round(seen.size / Math.max(sendSeconds, (lastArrival - started) / 1000)),
      lagMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
    };
  } finally {
    server.kill('SIGKILL');
    await dispatcher.close();
    receiver.closeAllConnections();
    receiver.close();
  }
}

/** The figure for one store, on a database of its own (a temporary SQLite file, a fresh PostgreSQL database). */
export async function webhookFigure(
  kind: 'sqlite' | 'postgres',
  settings: { pgUrl: string; redisUrl: string; smoke: boolean },
): Promise<WebhookBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-bench-webhooks-'));
  let databaseUrl = join(dir, 'bench.db');
  const name = `agent_sessions_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: settings.pgUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  if (kind === 'postgres') {
    await admin(`create database ${name}`);
    const url = new URL(settings.pgUrl);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
  }
  try {
    return await runWebhookBench({
      databaseUrl,
      ...(kind === 'postgres' ? { redisUrl: settings.redisUrl } : {}),
      port: await freePort(),
      rate: settings.smoke ? 200 : 1000,
      seconds: settings.smoke ? 2 : 10,
      sessions: settings.smoke ? 20 : 100,
    });
  } finally {
    if (kind === 'postgres') await admin(`drop database if exists ${name} with (force)`).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
