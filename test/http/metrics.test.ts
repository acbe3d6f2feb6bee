/**
 * GET /metrics: Prometheus text with the session gauges read from the store at scrape time, the
 * agent reply counters and Node's own figures; still answers when the store is down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import { createSession, startServer, type TestServer } from '../support/server.js';

const BASE = '/api/messaging/sessions';

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const scrape = async () => {
    const res = await server.request('GET', '/metrics');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    return res.text;
  };

  test('session gauges follow the stored sessions through warning, expiry and the scheduler', async () => {
    let text = await scrape();
    assert.equal(sample(text, 'sessions_store_up'), 1);
    assert.equal(sample(text, 'sessions_active'), 0);
    await createSession(server);
    await createSession(server);
    text = await scrape();
    assert.equal(sample(text, 'sessions_active'), 2);
    assert.equal(sample(text, 'sessions_expiring_soon'), 0);

    server.clock.advance(25 * MINUTE); // 30-minute timeout, 5-minute warning window: inside it
    text = await scrape();
    assert.equal(sample(text, 'sessions_active'), 2);
    assert.equal(sample(text, 'sessions_expiring_soon'), 2);
    assert.equal(sample(text, 'sessions_expiry_backlog'), 0);

    server.clock.advance(5 * MINUTE); // exactly at expiresAt: expired, not processed yet
    text = await scrape();
    assert.equal(sample(text, 'sessions_active'), 0);
    assert.equal(sample(text, 'sessions_expiry_backlog'), 2);
    await server.app.scheduler.tick();
    assert.equal(sample(await scrape(), 'sessions_expiry_backlog'), 0);
  });

  test('agent replies are counted by provider and outcome', async () => {
    const series = 'agent_replies_total{provider="eliza",outcome="ok"}';
    const before = sample(await scrape(), series) ?? 0;
    const session = await createSession(server);
    const sent = await server.request('POST', `${BASE}/${session.sessionId}/messages`, { body: { content: 'Hello', transport: 'http' } });
    assert.equal(sent.status, 201, sent.text);
    assert.ok(sent.body.agentResponse, sent.text);
    assert.equal(sample(await scrape(), series), before + 1);
  });

  test("Node's own figures and the open event streams are included", async () => {
    const text = await scrape();
    assert.ok(sample(text, 'process_cpu_user_seconds_total')! >= 0);
    assert.ok(sample(text, 'nodejs_heap_size_used_bytes')! > 0);
    assert.equal(sample(text, 'sessions_event_streams_open'), 0);
    assert.match(text, /^# HELP sessions_active /m);
    assert.match(text, /^# TYPE agent_reply_duration_seconds histogram$/m);
  });

  test('the store being down shows as sessions_store_up 0, not as a failed scrape', async () => {
    const broken = await startServer();
    try {
      await broken.app.store.close();
      const res = await broken.request('GET', '/metrics');
      assert.equal(res.status, 200, res.text);
      assert.equal(sample(res.text, 'sessions_store_up'), 0);
      assert.equal(sample(res.text, 'sessions_active'), undefined);
      assert.ok(!res.text.includes('    at '), 'no stack trace');
    } finally {
      await broken.close().catch(() => {});
    }
  });
});
