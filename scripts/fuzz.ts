/**
 * `npm run fuzz`: the generated-input property of test/http/fuzz.error.test.ts, run long against
 * a real server. Options (environment or flags):
 *   FUZZ_RUNS / --runs N          cases to run (default 10000)
 *   FUZZ_SEED / --seed N          the seed (default: a random one, printed first)
 *   --store sqlite|postgres       the store (postgres also uses Redis, as the scaled mode does;
 *                                 TEST_DATABASE_URL and TEST_REDIS_URL say where, with the
 *                                 test runner's defaults)
 * On failure it prints the seed and the path to replay the failing case, and exits 1.
 */
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
};

const store = flag('store') ?? 'sqlite';
if (store !== 'sqlite' && store !== 'postgres') {
  console.error(`--store must be sqlite or postgres, not ${store}`);
  process.exit(2);
}
const runs = Number(flag('runs') ?? process.env.FUZZ_RUNS ?? 10_000);
const seed = Number(flag('seed') ?? process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
  console.error('FUZZ_RUNS must be a positive integer and FUZZ_SEED an integer');
  process.exit(2);
}
if (store === 'postgres') {
  process.env.TEST_STORE = 'postgres';
  process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
  process.env.TEST_REDIS_URL ??= 'redis://127.0.0.1:6379';
}

// Imported after TEST_STORE is set: the test server reads it when loaded.
const { startServer } = await import('../test/support/server.js');
const { fuzzServer } = await import('../test/support/fuzz.js');

console.log(`fuzz: ${runs} cases on ${store}, seed ${seed}`);
const server = await startServer();
const started = Date.now();
let failed = false;
try {
  const { cases, statuses } = await fuzzServer(server, {
    seed,
    numRuns: runs,
    progress: { every: 5000, report: (done) => console.log(`  ${done} cases, ${((Date.now() - started) / 1000).toFixed(0)} s`) },
  });
  const seconds = (Date.now() - started) / 1000;
  const byStatus = [...statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  console.log(`fuzz: ${cases} cases passed in ${seconds.toFixed(1)} s (${(cases / seconds).toFixed(0)}/s), seed ${seed}`);
  console.log(`  statuses: ${byStatus}`);
} catch (error) {
  failed = true;
  console.error(`fuzz: FAILED on ${store} with seed ${seed}`);
  console.error(error instanceof Error ? error.message : error);
} finally {
  await server.close();
}
process.exit(failed ? 1 : 0);
