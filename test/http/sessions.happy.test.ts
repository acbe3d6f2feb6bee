/**
 * The sessions API when things go right: create (configuration tiers, metadata), get, list,
 * delete, renew, heartbeat, PATCH timeout and the passage of time, with exact bodies and the
 * state each call leaves behind. Time only moves when the test moves `server.clock`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MINUTE } from '../support/clock.js';
import type { SessionInfo } from '../../src/domain/session.js';
import { createSession, ELIZA, startServer, USER, type CreatedSession, type SessionList, type TestServer } from '../support/server.js';

const BASE = '/api/messaging/sessions';
const USER_B = '22222222-2222-4222-8222-222222222222';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DEFAULT_CONFIG = { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 };
const iso = (ms: number) => new Date(ms).toISOString();

interface Expected {
  session: { sessionId: string; channelId: string };
  now: number;
  createdAt: number;
  expiresAt: number;
  lastActivity?: number;
  agentId?: string;
  userId?: string;
  config?: Partial<typeof DEFAULT_CONFIG>;
  renewalCount?: number;
  metadata?: unknown;
}

/** The whole SessionInfo the SPEC describes, derived from the numbers the test controls. */
function sessionInfo(e: Expected) {
  const timeoutConfig = { ...DEFAULT_CONFIG, ...e.config };
  const timeRemaining = Math.max(0, e.expiresAt - e.now);
  return {
    sessionId: e.session.sessionId,
    channelId: e.session.channelId,
    agentId: e.agentId ?? ELIZA,
    userId: e.userId ?? USER,
    status: e.now >= e.expiresAt ? 'expired' : 'active',
    createdAt: iso(e.createdAt),
    lastActivity: iso(e.lastActivity ?? e.createdAt),
    expiresAt: iso(e.expiresAt),
    timeoutConfig,
    renewalCount: e.renewalCount ?? 0,
    timeRemaining,
    isNearExpiration: timeRemaining > 0 && timeRemaining <= timeoutConfig.warningThresholdMinutes * MINUTE,
    metadata: e.metadata ?? {},
    replyPolicy: 'enqueue',
  };
}

/** A create answer: the SessionInfo exactly, plus the session's own token (`ast_…`). */
function assertCreated(body: CreatedSession, expected: ReturnType<typeof sessionInfo>): void {
  const { sessionToken, ...info } = body;
  assert.equal(typeof sessionToken, 'string', 'a create answer carries the session token');
  assert.match(sessionToken, /^ast_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(info, expected);
}

async function post(server: TestServer, body: Record<string, unknown>) {
  return server.request('POST', BASE, { body: { agentId: ELIZA, userId: USER, ...body } });
}

async function get(server: TestServer, id: string) {
  const res = await server.request('GET', `${BASE}/${id}`);
  assert.equal(res.status, 200, res.text);
  return res.body;
}

async function createAgent(server: TestServer, body: Record<string, unknown>) {
  const res = await server.request('POST', '/api/agents', { body: { provider: { type: 'eliza' }, ...body } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

describe('create', () => {
  test('201 with the full SessionInfo from the global defaults', async () => {
    const t0 = server.clock.now();
    const res = await post(server, {});
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(res.body.sessionId, UUID);
    assert.match(res.body.channelId, UUID);
    assert.notEqual(res.body.channelId, res.body.sessionId);
    assertCreated(res.body, sessionInfo({ session: res.body, now: t0, createdAt: t0, expiresAt: t0 + 30 * MINUTE }));
    assert.equal(res.body.timeRemaining, 1_800_000);
    // Stored as answered: GET gives the same object (and never a session token).
    assert.deepEqual(
      await get(server, res.body.sessionId),
      sessionInfo({ session: res.body, now: t0, createdAt: t0, expiresAt: t0 + 30 * MINUTE }),
    );
  });

  test('every session gets its own ids', async () => {
    const a = await createSession(server);
    const b = await createSession(server);
    assert.equal(new Set([a.sessionId, a.channelId, b.sessionId, b.channelId]).size, 4);
  });

  test('metadata is echoed exactly; null means {}', async () => {
    const metadata = { platform: 'web', nested: { list: [1, 'two', null, true, { deep: 'ok' }] }, emoji: 'héllo 👋', n: -1.5 };
    const t0 = server.clock.now();
    const res = await post(server, { metadata });
    assert.equal(res.status, 201, res.text);
    assertCreated(res.body, sessionInfo({ session: res.body, now: t0, createdAt: t0, expiresAt: t0 + 30 * MINUTE, metadata }));
    assert.deepEqual((await get(server, res.body.sessionId)).metadata, metadata);

    const empty = await post(server, { metadata: null });
    assert.equal(empty.status, 201, empty.text);
    assert.deepEqual(empty.body.metadata, {});
  });

  const CONFIGS = [
    {
      name: 'the request timeoutConfig overrides the defaults field by field',
      config: { timeoutMinutes: 60, warningThresholdMinutes: 10 },
      expiresIn: 60,
    },
    {
      name: 'maxDurationMinutes below timeoutMinutes: the cap decides expiresAt',
      config: { timeoutMinutes: 30, maxDurationMinutes: 10 },
      expiresIn: 10,
    },
    {
      name: 'a warning window as long as the timeout makes a new session near expiration',
      config: { timeoutMinutes: 30, warningThresholdMinutes: 30 },
      expiresIn: 30,
      nearExpiration: true,
    },
  ];
  for (const { name, config, expiresIn, nearExpiration = false } of CONFIGS) {
    test(name, async () => {
      const t0 = server.clock.now();
      const res = await post(server, { timeoutConfig: config });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.isNearExpiration, nearExpiration);
      assertCreated(res.body, sessionInfo({ session: res.body, now: t0, createdAt: t0, expiresAt: t0 + expiresIn * MINUTE, config }));
    });
  }

  test('tiers: global settings → agent sessionDefaults → request timeoutConfig', async () => {
    const tiered = await startServer({
      SESSION_DEFAULT_TIMEOUT_MINUTES: '40',
      SESSION_MAX_DURATION_MINUTES: '600',
      SESSION_WARNING_THRESHOLD_MINUTES: '7',
    });
    try {
      const t0 = tiered.clock.now();
      const global = { timeoutMinutes: 40, autoRenew: true, maxDurationMinutes: 600, warningThresholdMinutes: 7 };

      // Global tier only (ELIZA has no sessionDefaults).
      const plain = await post(tiered, {});
      assert.equal(plain.status, 201, plain.text);
      assertCreated(plain.body, sessionInfo({ session: plain.body, now: t0, createdAt: t0, expiresAt: t0 + 40 * MINUTE, config: global }));

      // Agent tier over the global one.
      const agent = await createAgent(tiered, { name: 'Patient', sessionDefaults: { timeoutMinutes: 90, autoRenew: false } });
      assert.deepEqual(agent.sessionDefaults, { timeoutMinutes: 90, autoRenew: false });
      const agentTier = { ...global, timeoutMinutes: 90, autoRenew: false };
      const byAgent = await post(tiered, { agentId: agent.id });
      assert.equal(byAgent.status, 201, byAgent.text);
      assertCreated(
        byAgent.body,
        sessionInfo({ session: byAgent.body, agentId: agent.id, now: t0, createdAt: t0, expiresAt: t0 + 90 * MINUTE, config: agentTier }),
      );

      // Request tier over both; fields it does not name come from the tiers below.
      const requestTier = { ...agentTier, timeoutMinutes: 15, warningThresholdMinutes: 3 };
      const byRequest = await post(tiered, { agentId: agent.id, timeoutConfig: { timeoutMinutes: 15, warningThresholdMinutes: 3 } });
      assert.equal(byRequest.status, 201, byRequest.text);
      assertCreated(
        byRequest.body,
        sessionInfo({
          session: byRequest.body,
          agentId: agent.id,
          now: t0,
          createdAt: t0,
          expiresAt: t0 + 15 * MINUTE,
          config: requestTier,
        }),
      );
      // The result is stored on the session: changing the agent later does not touch it.
      const patched = await tiered.request('PATCH', `/api/agents/${agent.id}`, { body: { sessionDefaults: { timeoutMinutes: 20 } } });
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual((await get(tiered, byAgent.body.sessionId)).timeoutConfig, agentTier);
      const afterPatch = await post(tiered, { agentId: agent.id });
      assert.deepEqual(afterPatch.body.timeoutConfig, { ...global, timeoutMinutes: 20 });
    } finally {
      await tiered.close();
    }
  });

  test('the session is stored durably with its configuration', async () => {
    const created = await createSession(server, { timeoutConfig: { autoRenew: false } });
    const stored = await server.app.store.getSession(created.sessionId);
    assert.ok(stored);
    assert.equal(stored.agentId, ELIZA);
    assert.equal(stored.userId, USER);
    assert.deepEqual(stored.config, { ...DEFAULT_CONFIG, autoRenew: false });
    assert.equal(stored.renewalCount, 0);
  });
});

describe('get', () => {
  test('is not activity: lastActivity, expiresAt and renewalCount stay; timeRemaining counts down', async () => {
    const t0 = server.clock.now();
    const created = await createSession(server);
    server.clock.advance(5 * MINUTE);
    const expected = sessionInfo({ session: created, now: t0 + 5 * MINUTE, createdAt: t0, expiresAt: t0 + 30 * MINUTE });
    assert.deepEqual(await get(server, created.sessionId), expected);
    assert.equal(expected.timeRemaining, 25 * MINUTE);
    // Twice in a row, same answer: nothing was renewed by the first read.
    assert.deepEqual(await get(server, created.sessionId), expected);
  });

  test('near expiration inside the warning window, expired only at expiresAt', async () => {
    const t0 = server.clock.now();
    const created = await createSession(server);
    server.clock.advance(25 * MINUTE);
    const atWindow = await get(server, created.sessionId);
    assert.equal(atWindow.isNearExpiration, true);
    assert.equal(atWindow.timeRemaining, 5 * MINUTE);
    server.clock.advance(5 * MINUTE - 1);
    assert.deepEqual(
      await get(server, created.sessionId),
      sessionInfo({ session: created, now: t0 + 30 * MINUTE - 1, createdAt: t0, expiresAt: t0 + 30 * MINUTE }),
    );
  });
});

describe('list', () => {
  let list: TestServer;
  let s1: CreatedSession, s2: CreatedSession, s3: CreatedSession, s4: CreatedSession;
  let agent2: string;
  let t0: number;
  const infoAt = (s: SessionInfo, extra: Partial<Expected> = {}) =>
    sessionInfo({
      session: s,
      now: list.clock.now(),
      createdAt: Date.parse(s.createdAt),
      expiresAt: Date.parse(s.expiresAt),
      agentId: s.agentId,
      userId: s.userId,
      config: s.timeoutConfig,
      ...extra,
    });

  before(async () => {
    list = await startServer();
    t0 = list.clock.now();
    agent2 = (await createAgent(list, { name: 'Second' })).id;
    s1 = await createSession(list);
    list.clock.advance(1000);
    s2 = await createSession(list, { userId: USER_B });
    list.clock.advance(1000);
    s3 = await createSession(list, { agentId: agent2 });
    list.clock.advance(1000);
    s4 = await createSession(list, { timeoutConfig: { timeoutMinutes: 5 } });
    list.clock.advance(5 * MINUTE); // s4 has just expired
  });
  after(() => list.close());

  const query = async (qs: string): Promise<SessionList> => {
    const res = await list.request('GET', `${BASE}${qs}`);
    assert.equal(res.status, 200, res.text);
    return res.body as SessionList;
  };

  test('default: active sessions, newest first, limit 50, offset 0, stats over every status', async () => {
    assert.deepEqual(await query(''), {
      sessions: [infoAt(s3), infoAt(s2), infoAt(s1)],
      total: 3,
      limit: 50,
      offset: 0,
      nextCursor: null,
      stats: { totalSessions: 4, activeSessions: 3, expiredSessions: 1 },
    });
    assert.deepEqual(await query('?status=active'), await query(''));
  });

  test('status=expired and status=all', async () => {
    const expired = await query('?status=expired');
    assert.deepEqual(expired, {
      sessions: [infoAt(s4)],
      total: 1,
      limit: 50,
      offset: 0,
      nextCursor: null,
      stats: { totalSessions: 4, activeSessions: 3, expiredSessions: 1 },
    });
    const only = expired.sessions[0]!;
    assert.equal(only.status, 'expired');
    assert.equal(only.timeRemaining, 0);
    assert.equal(only.isNearExpiration, false);
    const all = await query('?status=all');
    assert.deepEqual(
      all.sessions.map((s) => s.sessionId),
      [s4, s3, s2, s1].map((s) => s.sessionId),
    );
    assert.equal(all.total, 4);
  });

  test('agentId and userId filter both total and stats', async () => {
    const byAgent = await query(`?agentId=${ELIZA}`);
    assert.deepEqual(
      byAgent.sessions.map((s) => s.sessionId),
      [s2.sessionId, s1.sessionId],
    );
    assert.equal(byAgent.total, 2);
    assert.deepEqual(byAgent.stats, { totalSessions: 3, activeSessions: 2, expiredSessions: 1 });

    const byUser = await query(`?userId=${USER}`);
    assert.deepEqual(
      byUser.sessions.map((s) => s.sessionId),
      [s3.sessionId, s1.sessionId],
    );
    assert.equal(byUser.total, 2);
    assert.deepEqual(byUser.stats, { totalSessions: 3, activeSessions: 2, expiredSessions: 1 });

    const both = await query(`?agentId=${ELIZA}&userId=${USER}&status=all`);
    assert.deepEqual(
      both.sessions.map((s) => s.sessionId),
      [s4.sessionId, s1.sessionId],
    );
    assert.equal(both.total, 2);
    assert.deepEqual(both.stats, { totalSessions: 2, activeSessions: 1, expiredSessions: 1 });

    const nobody = await query('?userId=33333333-3333-4333-8333-333333333333&status=all');
    assert.deepEqual(nobody, {
      sessions: [],
      total: 0,
      limit: 50,
      offset: 0,
      nextCursor: null,
      stats: { totalSessions: 0, activeSessions: 0, expiredSessions: 0 },
    });
  });

  test('limit and offset page through; total is the whole match', async () => {
    const page = await query('?status=all&limit=2&offset=1');
    assert.deepEqual(page, {
      sessions: [infoAt(s3), infoAt(s2)],
      total: 4,
      limit: 2,
      offset: 1,
      nextCursor: Buffer.from(`s.${Date.parse(s2.createdAt)}.${s2.sessionId}`).toString('base64url'),
      stats: { totalSessions: 4, activeSessions: 3, expiredSessions: 1 },
    });
    assert.deepEqual(
      (await query('?status=all&limit=1')).sessions.map((s) => s.sessionId),
      [s4.sessionId],
    );
    assert.deepEqual(
      (await query('?status=all&limit=100&offset=3')).sessions.map((s) => s.sessionId),
      [s1.sessionId],
    );
    const beyond = await query('?status=all&offset=10');
    assert.deepEqual(beyond.sessions, []);
    assert.equal(beyond.total, 4);
    assert.equal(beyond.offset, 10);
  });

  test('list is not activity', async () => {
    await query('?status=all');
    assert.deepEqual(await get(list, s1.sessionId), infoAt(s1));
    assert.equal(t0, Date.parse(s1.lastActivity));
  });
});

describe('delete', () => {
  test('200 with the exact body; the session and its messages are gone', async () => {
    const created = await createSession(server);
    const id = created.sessionId;
    const sent = await server.request('POST', `${BASE}/${id}/messages`, { body: { content: 'Hello there', transport: 'http' } });
    assert.equal(sent.status, 201, sent.text);
    assert.equal((await server.app.store.recentMessages(id, 10)).length, 2);

    const res = await server.request('DELETE', `${BASE}/${id}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { success: true, message: `Session ${id} deleted successfully` });

    assert.equal(await server.app.store.getSession(id), undefined);
    assert.deepEqual(await server.app.store.recentMessages(id, 10), []);
    assert.equal(await server.app.store.getMessage(sent.body.id), undefined);
    assert.equal(await server.app.store.getMessage(sent.body.agentResponse.id), undefined);
    for (const [method, path] of [
      ['GET', `${BASE}/${id}`],
      ['GET', `${BASE}/${id}/messages`],
      ['DELETE', `${BASE}/${id}`],
    ] as const) {
      const gone = await server.request(method, path);
      assert.equal(gone.status, 404, `${method} ${path}: ${gone.text}`);
      assert.equal(gone.body.error.code, 'SESSION_NOT_FOUND');
    }
  });

  test('other sessions are untouched', async () => {
    const keep = await createSession(server);
    const drop = await createSession(server);
    await server.request('POST', `${BASE}/${keep.sessionId}/messages`, { body: { content: 'keep me', transport: 'http' } });
    const res = await server.request('DELETE', `${BASE}/${drop.sessionId}`);
    assert.equal(res.status, 200, res.text);
    assert.equal((await get(server, keep.sessionId)).sessionId, keep.sessionId);
    assert.equal((await server.app.store.recentMessages(keep.sessionId, 10)).length, 2);
  });

  test('an expired session can still be deleted (200), then it is gone', async () => {
    const created = await createSession(server, { timeoutConfig: { timeoutMinutes: 5 } });
    server.clock.advance(5 * MINUTE);
    assert.equal((await server.request('GET', `${BASE}/${created.sessionId}`)).status, 410);
    const res = await server.request('DELETE', `${BASE}/${created.sessionId}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { success: true, message: `Session ${created.sessionId} deleted successfully` });
    const gone = await server.request('GET', `${BASE}/${created.sessionId}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'SESSION_NOT_FOUND');
    assert.equal(await server.app.store.getSession(created.sessionId), undefined);
  });
});

/**
 * Renew and heartbeat, step by step from a new session: after `advance` minutes the call
 * answers the whole SessionInfo (lastActivity now, `expiresAt` minutes after creation, the
 * renewal count), and GET then gives the same.
 */
interface ActivityCase {
  name: string;
  route: 'renew' | 'heartbeat';
  config?: Partial<typeof DEFAULT_CONFIG>;
  steps: Array<{ advance: number; expiresAt: number; renewalCount: number }>;
}

const ACTIVITY: ActivityCase[] = [
  {
    name: 'renew moves expiresAt, counts the renewal and sets lastActivity',
    route: 'renew',
    steps: [
      { advance: 10, expiresAt: 40, renewalCount: 1 },
      { advance: 1, expiresAt: 41, renewalCount: 2 },
    ],
  },
  {
    name: 'renew renews even when autoRenew is off',
    route: 'renew',
    config: { autoRenew: false },
    steps: [{ advance: 20, expiresAt: 50, renewalCount: 1 }],
  },
  {
    name: 'a renewal that reaches the cap is clipped to it and still counts',
    route: 'renew',
    config: { timeoutMinutes: 30, maxDurationMinutes: 40 },
    steps: [{ advance: 15, expiresAt: 40, renewalCount: 1 }],
  },
  {
    name: 'heartbeat with autoRenew: activity renews',
    route: 'heartbeat',
    steps: [{ advance: 10, expiresAt: 40, renewalCount: 1 }],
  },
  {
    name: 'heartbeat without autoRenew: lastActivity moves, expiresAt and renewalCount stay',
    route: 'heartbeat',
    config: { autoRenew: false },
    steps: [{ advance: 10, expiresAt: 30, renewalCount: 0 }],
  },
  {
    name: 'heartbeat at the max-duration cap: 200, not a renewal',
    route: 'heartbeat',
    config: { timeoutMinutes: 30, maxDurationMinutes: 35 },
    steps: [
      { advance: 10, expiresAt: 35, renewalCount: 1 },
      { advance: 10, expiresAt: 35, renewalCount: 1 },
    ],
  },
];

describe('renew and heartbeat', () => {
  for (const { name, route, config, steps } of ACTIVITY) {
    test(name, async () => {
      const t0 = server.clock.now();
      const created = await createSession(server, config ? { timeoutConfig: config } : {});
      let elapsed = 0;
      for (const step of steps) {
        server.clock.advance(step.advance * MINUTE);
        elapsed += step.advance;
        const res = await server.request('POST', `${BASE}/${created.sessionId}/${route}`);
        assert.equal(res.status, 200, res.text);
        const expected = sessionInfo({
          session: created,
          now: t0 + elapsed * MINUTE,
          createdAt: t0,
          lastActivity: t0 + elapsed * MINUTE,
          expiresAt: t0 + step.expiresAt * MINUTE,
          renewalCount: step.renewalCount,
          ...(config ? { config } : {}),
        });
        assert.deepEqual(res.body, expected, `after ${elapsed} minutes`);
        assert.deepEqual(await get(server, created.sessionId), expected, `GET after ${elapsed} minutes`);
      }
    });
  }
});

describe('PATCH timeout', () => {
  const patch = (id: string, body: unknown) => server.request('PATCH', `${BASE}/${id}/timeout`, { body });

  test('flat fields; the rest is kept; expiresAt is recomputed from the last renewal; not activity', async () => {
    const t0 = server.clock.now();
    const created = await createSession(server);
    server.clock.advance(10 * MINUTE);
    const res = await patch(created.sessionId, { timeoutMinutes: 60 });
    assert.equal(res.status, 200, res.text);
    const expected = sessionInfo({
      session: created,
      now: t0 + 10 * MINUTE,
      createdAt: t0,
      expiresAt: t0 + 60 * MINUTE,
      config: { timeoutMinutes: 60 },
    });
    assert.deepEqual(res.body, expected);
    assert.deepEqual(await get(server, created.sessionId), expected);

    const more = await patch(created.sessionId, { autoRenew: false, warningThresholdMinutes: 10 });
    assert.equal(more.status, 200, more.text);
    assert.deepEqual(more.body.timeoutConfig, {
      timeoutMinutes: 60,
      autoRenew: false,
      maxDurationMinutes: 720,
      warningThresholdMinutes: 10,
    });
    assert.equal(more.body.expiresAt, iso(t0 + 60 * MINUTE));

    // A lower cap wins over the inactivity timeout; 10 minutes left, inside a 10-minute window.
    const capped = await patch(created.sessionId, { maxDurationMinutes: 20 });
    assert.equal(capped.status, 200, capped.text);
    assert.deepEqual(
      capped.body,
      sessionInfo({
        session: created,
        now: t0 + 10 * MINUTE,
        createdAt: t0,
        expiresAt: t0 + 20 * MINUTE,
        config: { timeoutMinutes: 60, autoRenew: false, maxDurationMinutes: 20, warningThresholdMinutes: 10 },
      }),
    );
    assert.equal(capped.body.isNearExpiration, true);
  });

  test('{} changes nothing', async () => {
    const created = await createSession(server, { timeoutConfig: { timeoutMinutes: 45, autoRenew: false } });
    server.clock.advance(MINUTE);
    const before = await get(server, created.sessionId);
    const res = await patch(created.sessionId, {});
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, before);
    assert.deepEqual(await get(server, created.sessionId), before);
  });

  test('recomputes from the stored lastRenewal, not from now', async () => {
    const t0 = server.clock.now();
    const created = await createSession(server);
    server.clock.advance(10 * MINUTE);
    await server.request('POST', `${BASE}/${created.sessionId}/heartbeat`); // lastRenewal = t0 + 10
    server.clock.advance(5 * MINUTE);
    const res = await patch(created.sessionId, { timeoutMinutes: 10 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.expiresAt, iso(t0 + 20 * MINUTE));
    assert.equal(res.body.renewalCount, 1);
    assert.equal(res.body.lastActivity, iso(t0 + 10 * MINUTE));
  });

  test('turning autoRenew off makes heartbeats stop renewing', async () => {
    const t0 = server.clock.now();
    const created = await createSession(server);
    assert.equal((await patch(created.sessionId, { autoRenew: false })).status, 200);
    server.clock.advance(MINUTE);
    const beat = await server.request('POST', `${BASE}/${created.sessionId}/heartbeat`);
    assert.equal(beat.body.renewalCount, 0);
    assert.equal(beat.body.expiresAt, iso(t0 + 30 * MINUTE));
  });
});

describe('expiry', () => {
  test('list status=expired shows a session once its expiresAt has passed', async () => {
    const fresh = await startServer();
    try {
      const t0 = fresh.clock.now();
      const created = await createSession(fresh, { timeoutConfig: { timeoutMinutes: 5 } });
      const active = await fresh.request('GET', `${BASE}?status=expired`);
      assert.deepEqual(active.body.sessions, []);
      fresh.clock.advance(5 * MINUTE);
      const expired = await fresh.request('GET', `${BASE}?status=expired`);
      assert.equal(expired.status, 200, expired.text);
      assert.deepEqual(expired.body.sessions, [
        sessionInfo({ session: created, now: t0 + 5 * MINUTE, createdAt: t0, expiresAt: t0 + 5 * MINUTE, config: { timeoutMinutes: 5 } }),
      ]);
      assert.equal(expired.body.sessions[0].status, 'expired');
      assert.deepEqual((await fresh.request('GET', BASE)).body.sessions, []);
    } finally {
      await fresh.close();
    }
  });
});
