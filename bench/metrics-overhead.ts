/**
 * A/B benchmark of the per-route request metrics: two servers, identical but for request
 * metrics on or off, each in its own process on its own SQLite file, loaded in turn (on, off,
 * on, off, ...) with GET /api/messaging/sessions/:id by autocannon from this process. Prints
 * every run, the overhead of the medians and the median of the per-round overheads (the two runs
 * of a round are back to back, so drift in the machine's load touches both alike). Not a test.
 *
 *   node --import tsx bench/metrics-overhead.ts           # 6 rounds of 5 s, 50 connections
 *   BENCH_ROUNDS=10 BENCH_SECONDS=5 node --import tsx bench/metrics-overhead.ts
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, cpuSeconds, load as loadRoute, median, NO_RATE_LIMITS, startProcess } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEY = 'bench-admin-key-0123456789abcdef';
const SELF = fileURLToPath(import.meta.url);

/** Child mode: `--serve on|off <port> <database>` starts the app and prints "ready". */
async function serve(metrics: string, port: string, database: string): Promise<void> {
  const { createApp } = await import('../src/app.js');
  const { parseSettings } = await import('../src/settings.js');
  const app = await createApp(
    parseSettings({
      PORT: port,
      DATABASE_URL: database,
      SESSIONS_API_KEY: KEY,
      LOG_LEVEL: 'warn',
      ...NO_RATE_LIMITS,
    }),
    { requestMetrics: metrics === 'on' },
  );
  await app.listen();
  console.log('ready');
}

function start(metrics: 'on' | 'off', port: number, database: string): Promise<ChildProcess> {
  return startProcess(['--import', 'tsx', SELF, '--serve', metrics, String(port), database], {}, 'ready');
}

async function createSession(base: string): Promise<string> {
  const body = { agentId: '00000000-0000-4000-8000-000000000001', userId: '11111111-1111-4111-8111-111111111111' };
  return (await api<{ sessionId: string }>(base, KEY, 'POST', '/api/messaging/sessions', body)).sessionId;
}

/** Requests per second, and the server's CPU microseconds per request (less sensitive to other load). */
async function load(url: string, seconds: number, pid?: number): Promise<{ rps: number; cpuUs: number }> {
  const cpuBefore = pid ? cpuSeconds(pid) : 0;
  const result = await loadRoute({ name: url, url, key: KEY, seconds, connections: CONNECTIONS, quiet: true });
  if (result.non2xx > 0) throw new Error(`${result.non2xx} answers were not 2xx`);
  const cpuUs = pid ? ((cpuSeconds(pid) - cpuBefore) * 1e6) / (result.rps * seconds) : 0;
  return { rps: result.rps, cpuUs };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-bench-'));
  const children: ChildProcess[] = [];
  try {
    const arms = {
      on: { port: 3911, rps: [] as number[], cpu: [] as number[], pid: 0 },
      off: { port: 3912, rps: [] as number[], cpu: [] as number[], pid: 0 },
    };
    const urls: Record<string, string> = {};
    for (const [name, arm] of Object.entries(arms)) {
      const child = await start(name as 'on' | 'off', arm.port, join(dir, `${name}.db`));
      children.push(child);
      arm.pid = child.pid!;
      const base = `http://127.0.0.1:${arm.port}`;
      urls[name] = `${base}/api/messaging/sessions/${await createSession(base)}`;
      await load(urls[name], 2); // warm-up
    }
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which arm goes first, so drift in the machine's load hits both alike.
      const order = round % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const name of order) {
        const { rps, cpuUs } = await load(urls[name]!, SECONDS, arms[name].pid);
        arms[name].rps.push(rps);
        arms[name].cpu.push(cpuUs);
        console.log(
          `round ${round}  metrics ${name.padEnd(3)}  ${rps.toFixed(0).padStart(7)} req/s  ${cpuUs.toFixed(1).padStart(6)} µs CPU/request`,
        );
      }
    }
    const on = median(arms.on.rps);
    const off = median(arms.off.rps);
    // Each round's two runs are back to back: their ratio is the least affected by the machine's
    // load drifting, so the median of the per-round overheads is the figure to read.
    const perRound = arms.on.rps.map((rps, i) => (1 - rps / arms.off.rps[i]!) * 100);
    console.log(
      `\nmedian  metrics on ${on.toFixed(0)} req/s, off ${off.toFixed(0)} req/s: overhead ${(((off - on) / off) * 100).toFixed(1)} %`,
    );
    console.log(`per-round overheads ${perRound.map((p) => p.toFixed(1)).join(', ')} %: median ${median(perRound).toFixed(1)} %`);
    const cpuOn = median(arms.on.cpu);
    const cpuOff = median(arms.off.cpu);
    console.log(
      `server CPU per request (median): on ${cpuOn.toFixed(1)} µs, off ${cpuOff.toFixed(1)} µs: overhead ${(((cpuOn - cpuOff) / cpuOff) * 100).toFixed(1)} %`,
    );
  } finally {
    for (const child of children) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else await main();
