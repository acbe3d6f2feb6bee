#!/usr/bin/env node
// `npm run fleet -- --instances N --port P`: N instances of the server (dist/main.js) on the
// PostgreSQL and Redis of DATABASE_URL and REDIS_URL, behind HAProxy on 127.0.0.1:P with
// deploy/haproxy.cfg (its server list replaced by these instances). Every setting comes from
// the environment, as for `npm start`; each instance gets PORT = P+1 … P+N on 127.0.0.1.
//
// Prints each instance's pid and port, then "fleet: ready on http://127.0.0.1:P" once every
// instance and the load balancer answer. An instance that exits is started again on its port.
// SIGHUP: rolling restart (one instance at a time, each drained by SIGTERM, the next only once
// the new one is ready). SIGINT/SIGTERM: stops the load balancer and drains every instance.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = join(ROOT, 'deploy', 'haproxy.cfg');

function fail(message, code = 2) {
  console.error(`fleet: ${message}`);
  process.exit(code);
}

function parseArgs(argv) {
  const options = { instances: 3, port: 8080 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    if (flag === '--instances' || flag === '--port') {
      if (!/^\d+$/.test(value ?? '')) fail(`${flag} needs a whole number`);
      options[flag.slice(2)] = Number(value);
    } else fail(`unknown option ${argv[i]} (use --instances N --port P)`);
  }
  if (options.instances < 1 || options.instances > 32) fail('--instances must be between 1 and 32');
  if (options.port < 1 || options.port + options.instances > 65535) fail('--port is out of range');
  return options;
}

const options = parseArgs(process.argv.slice(2));
// Instances keep serving for 2 s after SIGTERM while HAProxy (a check a second) takes them out.
const env = { SHUTDOWN_DELAY_SECONDS: '2', ...process.env };
if (!/^postgres(ql)?:\/\//i.test(env.DATABASE_URL ?? '')) fail('DATABASE_URL must be a postgres:// URL: instances share one PostgreSQL');
if (!/^rediss?:\/\//i.test(env.REDIS_URL ?? '')) fail('REDIS_URL must be set: instances share events and limits through Redis');
if (!existsSync(join(ROOT, 'dist', 'main.js'))) fail('dist/main.js is missing: run `npm run build` (npm run fleet does)');

/** HAProxy from Debian's packages, installed when missing (as root). */
function haproxyPath() {
  const found = spawnSync('sh', ['-c', 'command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')[0];
  if (found) return found;
  if (process.getuid?.() !== 0) fail('haproxy is not installed: apt-get install haproxy');
  console.log('fleet: installing haproxy (apt-get)');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const installed = spawnSync('apt-get', ['install', '-y', '-qq', 'haproxy'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (installed.status !== 0) fail('apt-get install haproxy failed');
  return '/usr/sbin/haproxy';
}

const LB_SETTLE_MS = 2500;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function ready(url) {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status === 200;
  } catch {
    return false;
  }
}

async function waitReady(url, isAlive, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive()) return false;
    if (await ready(url)) return true;
    await sleep(100);
  }
  return false;
}

const prefix = (name, stream, target) => {
  let pending = '';
  stream.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) target.write(`[${name}] ${line}\n`);
  });
};

let stopping = false;
const instances = Array.from({ length: options.instances }, (_, i) => ({
  name: `app${i + 1}`,
  port: options.port + 1 + i,
  child: undefined,
  exited: undefined,
}));

function startInstance(instance) {
  const child = spawn(process.execPath, ['--max-semi-space-size=4', '--max-old-space-size=1024', join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...env, PORT: String(instance.port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  instance.child = child;
  instance.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  prefix(instance.name, child.stdout, process.stdout);
  prefix(instance.name, child.stderr, process.stderr);
  console.log(`fleet: ${instance.name} pid ${child.pid} port ${instance.port}`);
  void instance.exited.then((how) => {
    if (stopping || instance.child !== child || instance.restarting) return;
    console.log(`fleet: ${instance.name} (pid ${child.pid}) exited (${how}); starting it again`);
    void startAndWait(instance);
  });
  return child;
}

async function startAndWait(instance) {
  const child = startInstance(instance);
  const ok = await waitReady(`http://127.0.0.1:${instance.port}/readyz`, () => child.exitCode === null && child.signalCode === null);
  if (ok) console.log(`fleet: ${instance.name} ready (pid ${child.pid})`);
  return ok;
}

async function stopInstance(instance) {
  const child = instance.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await instance.exited;
}

let restarting = false;
async function rollingRestart() {
  if (restarting || stopping) return;
  restarting = true;
  console.log('fleet: rolling restart');
  for (const instance of instances) {
    if (stopping) break;
    instance.restarting = true;
    await stopInstance(instance);
    instance.restarting = false;
    if (stopping) break;
    if (!(await startAndWait(instance))) console.error(`fleet: ${instance.name} did not become ready`);
    // The load balancer marks it up after two passed checks a second apart (deploy/haproxy.cfg):
    // only then may the next instance go.
    await sleep(LB_SETTLE_MS);
  }
  restarting = false;
  if (!stopping) console.log('fleet: rolling restart done');
}

const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-fleet-'));
let haproxy;
let haproxyExited;

async function stopAll(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`fleet: ${signal}, stopping`);
  if (haproxy && haproxy.exitCode === null) haproxy.kill('SIGTERM');
  await Promise.all(instances.map(stopInstance));
  await haproxyExited;
  rmSync(dir, { recursive: true, force: true });
  console.log('fleet: stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stopAll('SIGINT'));
process.on('SIGTERM', () => void stopAll('SIGTERM'));
process.on('SIGHUP', () => void rollingRestart());

const haproxyBin = haproxyPath();
const started = await Promise.all(instances.map(startAndWait));
if (stopping) await new Promise(() => {});
if (started.includes(false)) {
  console.error('fleet: an instance did not become ready');
  await stopAll('start-up failure');
}

// deploy/haproxy.cfg with its server list replaced by these instances.
const template = readFileSync(CONFIG, 'utf8');
const servers = instances.map((i) => `    server ${i.name} 127.0.0.1:${i.port}`).join('\n');
const config = template.replace(/^(\s*# BEGIN servers.*\n)[\s\S]*?(^\s*# END servers)/m, `$1${servers}\n$2`);
if (config === template) fail('deploy/haproxy.cfg has no "# BEGIN servers" … "# END servers" block');
const configPath = join(dir, 'haproxy.cfg');
writeFileSync(configPath, config);
haproxy = spawn(haproxyBin, ['-db', '-f', configPath], {
  env: { ...env, LB_BIND: `127.0.0.1:${options.port}` },
  stdio: ['ignore', 'pipe', 'pipe'],
});
haproxyExited = new Promise((resolve) => haproxy.once('exit', resolve));
prefix('haproxy', haproxy.stdout, process.stdout);
prefix('haproxy', haproxy.stderr, process.stderr);
void haproxyExited.then(() => {
  if (!stopping) {
    console.error('fleet: haproxy exited');
    void stopAll('haproxy exit');
  }
});
console.log(`fleet: haproxy pid ${haproxy.pid} config ${configPath}`);
if (!(await waitReady(`http://127.0.0.1:${options.port}/readyz`, () => haproxy.exitCode === null))) {
  console.error('fleet: the load balancer did not answer');
  await stopAll('start-up failure');
}
console.log(`fleet: ready on http://127.0.0.1:${options.port} (${options.instances} instances)`);
