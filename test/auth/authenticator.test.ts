/**
 * The pieces under the HTTP and Socket.IO auth, without a server: credentials, the
 * Authenticator's two methods (the Socket.IO layer calls them directly), the owner cache and the
 * choice of the rate-limit headers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Authenticator, CONFIGURED_KEY_ID, type Principal } from '../../src/auth/authenticator.js';
import {
  digestsEqual,
  displayPrefix,
  generateApiKey,
  generateSessionToken,
  hashSecret,
  isSessionToken,
} from '../../src/auth/credentials.js';
import { ANY_KEY, SCOPES, grants, type Scope } from '../../src/auth/scopes.js';
import { AppError } from '../../src/domain/errors.js';
import type { Session } from '../../src/domain/session.js';
import { tightest, type Outcome } from '../../src/http/rate-limit.js';
import { SessionOwners } from '../../src/services/session-owners.js';
import type { ApiKeyRecord, Store } from '../../src/store/store.js';
import { ManualClock } from '../support/clock.js';

const SESSION_ID = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const OTHER_ID = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

const session = (overrides: Partial<Session> = {}): Session => ({
  id: SESSION_ID,
  channelId: SESSION_ID,
  agentId: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc',
  userId: 'dddddddd-dddd-4ddd-8ddd-dddddddddddd',
  metadata: {},
  config: { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 },
  replyPolicy: 'enqueue',
  createdAt: 0,
  lastActivity: 0,
  lastRenewal: 0,
  expiresAt: 30 * 60_000,
  renewalCount: 0,
  lastMessageAt: null,
  ...overrides,
});

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
  return 'allowed';
};

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'allowed',
    (e: unknown) => (e instanceof AppError ? e.code : String(e)),
  );

describe('credentials', () => {
  test('prefixed, 256 random bits in base64url, never twice the same', () => {
    const keys = new Set(Array.from({ length: 100 }, generateApiKey));
    assert.equal(keys.size, 100);
    for (const key of keys) assert.match(key, /^ask_[A-Za-z0-9_-]{43}$/);
    assert.match(generateSessionToken(), /^ast_[A-Za-z0-9_-]{43}$/);
    assert.equal(isSessionToken(generateSessionToken()), true);
    assert.equal(isSessionToken(generateApiKey()), false);
  });

  test('digests are SHA-256 hex; the display prefix is short', () => {
    assert.equal(hashSecret('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const key = generateApiKey();
    assert.equal(displayPrefix(key), key.slice(0, 12));
    assert.equal(digestsEqual(hashSecret(key), hashSecret(key)), true);
    assert.equal(digestsEqual(hashSecret(key), hashSecret(`${key}x`)), false);
    assert.equal(digestsEqual('short', 'a much longer value'), false);
    assert.equal(digestsEqual('x'.repeat(64), 'x'.repeat(64)), true, 'equal 64-character strings');
    assert.equal(digestsEqual(hashSecret(key).slice(1), hashSecret(key).slice(1)), false, 'not a digest');
  });

  test('scopes: `*` grants everything, a scope itself only', () => {
    for (const scope of SCOPES) assert.equal(grants(['*'], scope), true);
    assert.equal(grants(['sessions:read'], 'sessions:read'), true);
    assert.equal(grants(['sessions:read'], 'sessions:write'), false);
    assert.equal(grants([], 'sessions:read'), false);
  });
});

describe('Authenticator', () => {
  const clock = new ManualClock(0);
  const stored: ApiKeyRecord = {
    id: 'k1',
    name: 'ci',
    scopes: ['sessions:read'],
    keyHash: hashSecret('ask_stored'),
    prefix: 'ask_stored',
    createdAt: 0,
    expiresAt: 60_000,
    lastUsedAt: null,
  };
  const touched: number[] = [];
  const store = {
    getApiKeyByHash: async (h: string) => (h === stored.keyHash ? stored : undefined),
    getSessionByTokenHash: async (h: string) => (h === hashSecret('ast_live') ? session() : undefined),
    touchApiKey: async (_id: string, at: number) => void touched.push(at),
  } as unknown as Store;
  const seen: string[] = [];
  const auth = new Authenticator(store, {
    clock,
    disabled: false,
    configuredKey: 'configured-secret',
    retentionMs: 60_000,
    onSession: (s) => seen.push(s.id),
  });

  test('authenticate: configured key, stored key, session token; anything else 401', async () => {
    assert.deepEqual(await auth.authenticate('configured-secret'), {
      kind: 'key',
      keyId: CONFIGURED_KEY_ID,
      scopes: ['*'],
      expiresAt: null,
    });
    assert.deepEqual(await auth.authenticate('ask_stored'), { kind: 'key', keyId: 'k1', scopes: ['sessions:read'], expiresAt: 60_000 });
    assert.deepEqual(await auth.authenticate('ast_live'), { kind: 'session', sessionId: SESSION_ID });
    assert.deepEqual(seen, [SESSION_ID]);
    for (const token of [undefined, '', 'configured-secre', 'configured-secretx', 'ask_other', 'ast_other', hashSecret('ask_stored')]) {
      assert.equal(await codeOf(auth.authenticate(token)), 'UNAUTHORIZED', String(token));
    }
  });

  test('a stored key expires at expiresAt; a session token at the end of retention', async () => {
    clock.set(59_999);
    assert.equal(await codeOf(auth.authenticate('ask_stored')), 'allowed');
    clock.set(60_000);
    assert.equal(await codeOf(auth.authenticate('ask_stored')), 'UNAUTHORIZED');
    clock.set(30 * 60_000 + 59_999);
    assert.equal(await codeOf(auth.authenticate('ast_live')), 'allowed');
    clock.set(30 * 60_000 + 60_000);
    assert.equal(await codeOf(auth.authenticate('ast_live')), 'UNAUTHORIZED');
    clock.set(0);
  });

  test('lastUsedAt is written at most once a minute per key', async () => {
    touched.length = 0;
    const fresh = new Authenticator(store, { clock, disabled: false, retentionMs: 0 });
    clock.set(1000);
    await fresh.authenticate('ask_stored');
    clock.set(30_000);
    await fresh.authenticate('ask_stored');
    clock.set(59_999);
    await fresh.authenticate('ask_stored');
    assert.deepEqual(touched, [1000]);
    clock.set(0);
  });

  test('a store that cannot answer is 503, not 401', async () => {
    const broken = {
      getApiKeyByHash: async () => Promise.reject(new Error('down')),
      getSessionByTokenHash: async () => Promise.reject(new Error('down')),
    } as unknown as Store;
    const failing = new Authenticator(broken, { clock, disabled: false, retentionMs: 0, configuredKey: 'configured-secret' });
    assert.equal(await codeOf(failing.authenticate('ask_x')), 'SERVICE_UNAVAILABLE');
    assert.equal(await codeOf(failing.authenticate('ast_x')), 'SERVICE_UNAVAILABLE');
    assert.equal(await codeOf(failing.authenticate('configured-secret')), 'allowed');
  });

  test('disabled: everything is open, credentials or not', async () => {
    const open = new Authenticator(store, { clock, disabled: true, retentionMs: 0 });
    assert.deepEqual(await open.authenticate(undefined), { kind: 'open' });
    assert.deepEqual(await open.authenticate('ask_whatever'), { kind: 'open' });
    assert.equal(
      code(() => open.authorize({ kind: 'open' }, 'keys:manage')),
      'allowed',
    );
  });

  test('authorize: keys by scope; tokens for read/write/manage of their own session only', () => {
    const key = (scopes: Scope[]): Principal => ({ kind: 'key', keyId: 'k', scopes, expiresAt: null });
    const token: Principal = { kind: 'session', sessionId: SESSION_ID };
    assert.equal(
      code(() => auth.authorize(key(['*']), 'keys:manage')),
      'allowed',
    );
    assert.equal(
      code(() => auth.authorize(key(['sessions:read']), 'sessions:read', SESSION_ID)),
      'allowed',
    );
    assert.equal(
      code(() => auth.authorize(key(['sessions:read']), 'sessions:write', SESSION_ID)),
      'FORBIDDEN',
    );
    assert.equal(
      code(() => auth.authorize(key(['metrics:read']), ANY_KEY)),
      'allowed',
    );
    assert.equal(
      code(() => auth.authorize(key([]), ANY_KEY)),
      'allowed',
    );

    for (const scope of ['sessions:read', 'sessions:write', 'sessions:manage'] as const) {
      assert.equal(
        code(() => auth.authorize(token, scope, SESSION_ID)),
        'allowed',
        scope,
      );
      assert.equal(
        code(() => auth.authorize(token, scope, OTHER_ID)),
        'FORBIDDEN',
        scope,
      );
      assert.equal(
        code(() => auth.authorize(token, scope)),
        'FORBIDDEN',
        scope,
      );
    }
    for (const scope of ['sessions:create', 'sessions:health', 'agents:manage', 'keys:manage', 'metrics:read', '*', ANY_KEY] as const) {
      assert.equal(
        code(() => auth.authorize(token, scope, SESSION_ID)),
        'FORBIDDEN',
        scope,
      );
    }
  });
});

describe('SessionOwners', () => {
  test('reads the store once per session, keeps at most its capacity, the least recently used out', async () => {
    const reads: string[] = [];
    const ids = ['1', '2', '3'].map((n) => `${n.repeat(8)}-${n.repeat(4)}-4${n.repeat(3)}-8${n.repeat(3)}-${n.repeat(12)}`);
    const owners = new SessionOwners({ getSession: async (id: string) => (reads.push(id), session({ id, userId: `u${id[0]}` })) }, 2);
    assert.equal((await owners.get(ids[0]!))?.userId, 'u1');
    assert.equal((await owners.get(ids[0]!))?.userId, 'u1');
    await owners.get(ids[1]!);
    await owners.get(ids[0]!); // 1 is now the most recently used
    await owners.get(ids[2]!); // evicts 2
    assert.equal(owners.size, 2);
    await owners.get(ids[0]!);
    await owners.get(ids[1]!);
    assert.deepEqual(reads, [ids[0], ids[1], ids[2], ids[1]]);
    assert.equal(await owners.get('not-a-uuid'), undefined);
    assert.equal(reads.length, 4, 'a malformed id costs no query');
  });
});

describe('rate-limit headers', () => {
  const outcome = (name: Outcome['policy']['name'], remaining: number, resetMs: number): Outcome => ({
    policy: { name, points: 10, windowSeconds: 60 },
    remaining,
    resetMs,
    exceeded: false,
  });

  test('the window with the fewest remaining; on a tie the one resetting last', () => {
    assert.equal(tightest([outcome('key', 5, 1000), outcome('session', 2, 500), outcome('user', 3, 9000)]).policy.name, 'session');
    assert.equal(tightest([outcome('key', 0, 1000), outcome('user', 0, 9000), outcome('session', 0, 500)]).policy.name, 'user');
  });
});
