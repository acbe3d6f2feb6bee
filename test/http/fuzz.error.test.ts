/**
 * Generated hostile input on every route (test/support/fuzz.ts): a fixed seed and a bounded
 * number of cases, so `npm test` is repeatable; the scaled pass runs it again on PostgreSQL and
 * Redis. `npm run fuzz` runs the same property far longer with a random seed.
 */
import { after, before, test } from 'node:test';
import { fuzzServer } from '../support/fuzz.js';
import { startServer, type TestServer } from '../support/server.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

test(`${RUNS} generated requests on every route (seed ${SEED}): 4xx in the envelope or a documented 2xx, never 5xx, nothing stored when refused`, async () => {
  await fuzzServer(server, { seed: SEED, numRuns: RUNS });
});
