/**
 * The operators' metrics: requests counted and timed per route pattern (never the URL), events
 * delivered per transport, store round trips; and none of it when request metrics are off.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_KEY, createSession, startServer } from '../support/server.js';
import { openSse } from '../support/sse-client.js';

const BASE = '/api/messaging/sessions';

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

test('requests per route pattern and status, latency histograms, event deliveries, store round trips', async () => {
  const server = await startServer();
  try {
    const scrape = async () => (await server.request('GET', '/metrics')).text;
    const route = `${BASE}/:sessionId`;
    const ok = `http_request_duration_seconds_count{method="GET",route="${route}",status="200"}`;
    const gone = `http_request_duration_seconds_count{method="GET",route="${route}",status="404"}`;
    const fast = `http_request_duration_seconds_bucket{le="60",method="GET",route="${route}",status="200"}`;
    const unmatched = 'http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}';
    const sse = 'events_delivered_total{transport="sse"}';
    const pings = 'backend_roundtrip_seconds_count{backend="store"}';
    const before = await scrape();

    const a = await createSession(server);
    const b = await createSession(server);
    for (const id of [a.sessionId, b.sessionId, a.sessionId]) assert.equal((await server.request('GET', `${BASE}/${id}`)).status, 200);
    assert.equal((await server.request('GET', `${BASE}/no-such-session`)).status, 404);
    assert.equal((await server.request('GET', '/no/such/path')).status, 404);
    assert.equal((await server.request('GET', '/readyz', { token: null })).status, 200);

    const stream = await openSse(`${server.url}${BASE}/${a.sessionId}/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal((await stream.next(5000)).event, 'session.created', 'replayed from the first event');
    assert.equal((await server.request('POST', `${BASE}/${a.sessionId}/renew`)).status, 200);
    assert.equal((await stream.next(5000)).event, 'session.renewed');
    stream.close();

    const text = await scrape();
    assert.equal(sample(text, ok) - sample(before, ok), 3);
    assert.equal(sample(text, gone) - sample(before, gone), 1);
    assert.equal(sample(text, fast) - sample(before, fast), 3, 'every one inside the largest bucket');
    assert.equal(sample(text, unmatched) - sample(before, unmatched), 1);
    assert.equal(sample(text, sse) - sample(before, sse), 2, 'session.created and session.renewed');
    // readyz pings the store once; the scrape itself once more.
    assert.ok(sample(text, pings) - sample(before, pings) >= 1);
    // Never a URL as a label: no session id appears in the exposition.
    assert.ok(!text.includes(a.sessionId), 'a session id leaked into a label');
    assert.match(
      text,
      /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/messaging\/sessions\/:sessionId",status="200"\} \d+/,
    );
  } finally {
    await server.close();
  }
});

test('with request metrics off, requests are not counted', async () => {
  const server = await startServer({}, undefined, undefined, { requestMetrics: false });
  try {
    const series = 'http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}';
    const before = sample((await server.request('GET', '/metrics')).text, series);
    await server.request('GET', '/healthz');
    await server.request('GET', '/healthz');
    assert.equal(sample((await server.request('GET', '/metrics')).text, series), before);
  } finally {
    await server.close();
  }
});
