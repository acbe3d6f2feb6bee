/**
 * Webhook delivery benchmark (part of `npm run bench`): the server (dist/main.js) in its own
 * process, a webhook for `session.renewed` pointing at a node:http receiver in this process,
 * and renewals sent at a fixed rate over many sessions for a few seconds. Reports the rate of
 * events stored and delivered and the lag from each event's `at` to its arrival at the
 * receiver (p50, p99, max). Target (issue 11): 1,000 events/s with p99 lag ≤ 1 s. Run by
 * `npm run bench` (bench/http.ts), or alone: `node --import tsx bench/webhooks.ts [--smoke] [--store …]`.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import {
  benchArgs,
  benchDatabase,
  freePort,
  loadAverage,
  percentile,
  PG_URL,
  REDIS_URL,
  startServer as startBenchServer,
  writeResults,
  type StoreKind,
} from './support.js';

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
  /** The 1-minute load average when the run ended. */
  load: number;
}

const KEY = 'bench-webhooks-key-0123456789abcdef';
const ELIZA = '00000000-0000-4000-8000-000000000001';
const USER = '11111111-1111-4111-8111-111111111111';

function startServer(options: WebhookBenchOptions): Promise<ChildProcess> {
  return startBenchServer({
    port: options.port,
    databaseUrl: options.databaseUrl,
    key: KEY,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
}

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
    return { status: res.statusCode, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  try {
    const hook = await call('POST', '/api/webhooks', { url: receiverUrl, events: ['session.renewed'] });
    if (hook.status !== 201) throw new Error(`webhook create: ${hook.status}`);
    const ids: string[] = [];
    for (let i = 0; i < options.sessions; i++) {
      const s = await call('POST', '/api/messaging/sessions', {
        agentId: ELIZA,
        userId: USER,
        timeoutConfig: { timeoutMinutes: 1440, maxDurationMinutes: 4320 },
      });
      if (s.status !== 201) throw new Error(`session create: ${s.status}`);
      ids.push((s.body as { sessionId: string }).sessionId);
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
      lagMs: { p50: percentile(sorted, 50) || 0, p99: percentile(sorted, 99) || 0, max: sorted.at(-1) ?? 0 },
      load: loadAverage(),
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
  kind: StoreKind,
  settings: { pgUrl: string; redisUrl: string; smoke: boolean },
): Promise<WebhookBenchResult> {
  const database = await benchDatabase(kind, settings.pgUrl);
  try {
    return await runWebhookBench({
      databaseUrl: database.url,
      ...(kind === 'postgres' ? { redisUrl: settings.redisUrl } : {}),
      port: await freePort(),
      rate: settings.smoke ? 200 : 1000,
      seconds: settings.smoke ? 2 : 10,
      sessions: settings.smoke ? 20 : 100,
    });
  } finally {
    await database.dispose();
  }
}

/** Alone: `node --import tsx bench/webhooks.ts [--smoke] [--store sqlite|postgres]`, results in bench/results/webhooks.json. */
async function main(): Promise<void> {
  const { smoke, stores } = benchArgs();
  const figures: Array<{ store: StoreKind } & WebhookBenchResult> = [];
  for (const store of stores) {
    const result = await webhookFigure(store, { pgUrl: PG_URL, redisUrl: REDIS_URL, smoke });
    figures.push({ store, ...result });
    console.log(
      `webhooks ${store}, ${result.targetRate}/s for ${result.sent} events: stored ${result.storedPerSecond}/s, delivered ${result.deliveredPerSecond}/s ` +
        `(${result.delivered}/${result.stored}, ${result.duplicates} duplicates), lag p50 ${result.lagMs.p50} / p99 ${result.lagMs.p99} / max ${result.lagMs.max} ms, load ${result.load}`,
    );
  }
  writeResults('webhooks', smoke, { webhooks: figures });
  if (figures.some((f) => f.delivered !== f.stored || f.duplicates > 0)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
