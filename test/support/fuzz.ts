/**
 * Generated hostile input on every route of the OpenAPI document (GET /openapi.json): bodies
 * built from each operation's own schema and then broken (a field dropped, replaced, added, the
 * JSON itself wrong, other bytes, another charset), query strings, headers, credentials, ids and
 * path segments, methods. Each case is one real HTTP request to a real server, and must end in
 *   - a documented 2xx of the operation, or a 4xx in the error envelope whose status is the
 *     code's (SPEC §4); never a 5xx;
 *   - no stack trace and no path of the server's files in the answer;
 *   - for a refused request (4xx), the stored state exactly as it was (a store snapshot taken
 *     before is compared with one taken after).
 * Used by test/http/fuzz.error.test.ts (fixed seed, bounded runs, both stores) and by
 * scripts/fuzz.ts (`npm run fuzz`: long runs, random seed, the seed printed on failure).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERROR_STATUS } from '../../src/domain/errors.js';
import { ADMIN_KEY, ELIZA, USER, type TestServer } from './server.js';
import { storeSnapshot } from './snapshot.js';

/** The part of a JSON Schema (as the OpenAPI document gives it) that the generators read. */
interface Schema {
  const?: unknown;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

/** An operation of the OpenAPI document, as far as the cases need it. */
interface DocumentedOperation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema } | undefined> };
  responses?: Record<string, unknown>;
}

interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}

interface Operation {
  method: string;
  /** OpenAPI path with `{param}` placeholders. */
  path: string;
  parameters: Parameter[];
  body: Schema | undefined;
  /** Documented statuses. */
  statuses: Set<number>;
}

/** Every operation of the document, plus the routes it hides (the document itself, the web app). */
function operationsOf(doc: { paths: Record<string, Record<string, DocumentedOperation>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
        statuses: new Set(Object.keys(op.responses ?? {}).map(Number)),
      });
    }
  }
  for (const path of ['/openapi.json', '/']) {
    operations.push({ method: 'GET', path, parameters: [], body: undefined, statuses: new Set([200, 304]) });
  }
  return operations;
}

// ---- values ---------------------------------------------------------------------------------

/** Texts that have broken parsers before: number spellings, dates, encodings, injections. */
const HOSTILE_TEXTS = [
  '',
  ' ',
  '0',
  '-1',
  '-0',
  '0x10',
  '+5',
  '1e1',
  '1e20',
  ' 5',
  '5 ',
  '5.0',
  '1_000',
  '9223372036854775807',
  '9007199254740993',
  '99999999999999999999999',
  'NaN',
  'Infinity',
  '-Infinity',
  'true',
  'false',
  'null',
  'undefined',
  '[]',
  '{}',
  '{"a":1}',
  '%00',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  '\uFEFF',
  '\u202E',
  '\r\n',
  '\t',
  '../../../etc/passwd',
  '..%2F..%2F',
  '2030-12-31T23:59:60Z',
  '2030-02-30T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '0000-00-00T00:00:00Z',
  '2026-01-01',
  "' OR '1'='1",
  '"; DROP TABLE sessions; --',
  '<script>alert(1)</script>',
  'javascript:alert(1)',
  '${7*7}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'A'.repeat(300),
  'é'.repeat(200),
  '😀'.repeat(100),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'urn:uuid:00000000-0000-4000-8000-000000000001',
  '{00000000-0000-4000-8000-000000000001}',
  '00000000000040008000000000000001',
];

const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TEXTS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.nat({ max: 70_000 }).map((n) => 'x'.repeat(n)) },
);

/** For URLs: the same, but rarely longer than Node's header limit (that is one answer, 431). */
const hostileUrlText: fc.Arbitrary<string> = fc.oneof(
  { weight: 20, arbitrary: hostileText.filter((t) => t.length < 2000) },
  { weight: 1, arbitrary: fc.nat({ max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

/** `value` in about one case of `oneIn`, else undefined. */
const sometimes = <T>(oneIn: number, value: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });

/** JSON values of every kind, including the awkward ones (deep, big, -0, huge numbers). */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileText },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, -0, 1.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 63, Number.MIN_VALUE, true, false, null) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.nat({ max: 100 }).map((n) => JSON.parse('['.repeat(n + 1) + ']'.repeat(n + 1))) },
  {
    weight: 1,
    arbitrary: fc.constantFrom({ __proto__: null, constructor: 1 }, JSON.parse('{"__proto__":{"admin":true}}'), { prototype: {} }),
  },
);

const ISO_RANGE = { min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true };

/** A value valid for `schema` (as far as a schema can say: uniqueness and cross-field rules aside). */
export function valueOf(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) return fc.oneof(...union.map((s: Schema) => valueOf(s, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const names = Object.keys(properties);
      if (names.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const name of names) record[name] = valueOf(properties[name], depth + 1);
      return fc.record(record, { requiredKeys: (schema.required ?? []).filter((n: string) => names.includes(n)) });
    }
    case 'array': {
      const maxLength = Math.min(schema.maxItems ?? 4, 4);
      return fc.array(valueOf(schema.items, depth + 1), { minLength: Math.min(schema.minItems ?? 0, maxLength), maxLength });
    }
    case 'string':
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date-time') return fc.date(ISO_RANGE).map((d) => d.toISOString());
      if (schema.format === 'uri') return fc.webUrl();
      if (typeof schema.pattern === 'string' && !schema.pattern.includes('(?'))
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 200));
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1_000_000, -(2 ** 31)), max: Math.min(schema.maximum ?? 1_000_000, 2 ** 31) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A valid value with something broken in it: one field dropped, replaced or added. */
function brokenValueOf(schema: Schema | undefined): fc.Arbitrary<unknown> {
  return fc
    .tuple(valueOf(schema), fc.nat(), fc.constantFrom('drop', 'replace', 'add', 'nest'), hostileJson, fc.string({ maxLength: 12 }))
    .map(([value, pick, how, bad, key]) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad;
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const target = keys.length > 0 ? keys[pick % keys.length]! : key;
      if (how === 'drop') delete copy[target];
      else if (how === 'replace') copy[target] = bad;
      else if (how === 'add') copy[key || 'extra'] = bad;
      else {
        const inner = copy[target];
        copy[target] = inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? { ...inner, [key || 'x']: bad } : [bad];
      }
      return copy;
    });
}

// ---- requests -------------------------------------------------------------------------------

/** What the fuzzer knows of the server's state; refilled when a case deletes a fixture. */
interface Fixtures {
  sessions: Array<{ id: string; token: string }>;
  agents: string[];
  keys: Array<{ id: string; key: string }>;
}

type IdRef = { kind: 'session' | 'agent' | 'key'; index: number; upper: boolean } | { kind: 'literal'; text: string; raw: boolean };
type Credential = { kind: 'admin' | 'limited' | 'token' | 'garbage' | 'none'; place: 'bearer' | 'x-api-key' | 'query' | 'basic' };
type BodySpec = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array };

interface FuzzCase {
  operation: number;
  method: string | undefined;
  params: Record<string, IdRef>;
  query: Array<[string, string]>;
  rawQuery: string | undefined;
  headers: Record<string, string>;
  credential: Credential;
  contentType: string | undefined;
  body: BodySpec;
}

const idRef = (kind: 'session' | 'agent' | 'key'): fc.Arbitrary<IdRef> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant(kind), index: fc.nat({ max: 3 }), upper: fc.boolean() }) },
    { weight: 1, arbitrary: fc.uuid().map((text) => ({ kind: 'literal' as const, text, raw: false })) },
    { weight: 2, arbitrary: hostileUrlText.map((text) => ({ kind: 'literal' as const, text, raw: false })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('%', '%zz', '%E0%A4%A', '..', '.', '%2F', '%2e%2e', ';', '*', '%00', '%C0%AE', 'a%2Fb')
        .map((text) => ({ kind: 'literal' as const, text, raw: true })),
    },
  );

const HEADER_TEXT = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-16',
  'application/json; charset=latin1',
  'application/json;;',
  'APPLICATION/JSON',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/problem+json',
  '',
  '*/*',
];

function caseArbitrary(operations: Operation[]): fc.Arbitrary<FuzzCase> {
  return fc.nat({ max: operations.length - 1 }).chain((index) => {
    const op = operations[index]!;
    const params: Record<string, fc.Arbitrary<IdRef>> = {};
    for (const p of op.parameters.filter((p) => p.in === 'path')) {
      params[p.name] = idRef(p.name === 'sessionId' ? 'session' : p.name === 'agentId' ? 'agent' : 'key');
    }
    const queryParams = op.parameters.filter((p) => p.in === 'query');
    const query = fc.array(
      fc.oneof(
        ...(queryParams.length > 0
          ? [
              fc.tuple(
                fc.constantFrom(...queryParams.map((p) => p.name)),
                fc.oneof(valueOf(queryParams[0]!.schema).map(String), hostileUrlText),
              ),
              fc
                .constantFrom(...queryParams)
                .chain((p) => fc.tuple(fc.constant(p.name), fc.oneof(valueOf(p.schema).map(String), hostileUrlText))),
            ]
          : []),
        fc.tuple(
          fc.oneof(fc.constantFrom('token', 'metadata.x', 'cursor', 'a[b]', '__proto__', 'limit'), fc.string({ maxLength: 8 })),
          hostileUrlText,
        ),
      ),
      { maxLength: 4 },
    );
    const headers = fc.dictionary(
      fc.constantFrom(
        'idempotency-key',
        'last-event-id',
        'x-forwarded-for',
        'origin',
        'accept',
        'accept-encoding',
        'if-none-match',
        'range',
        'x-http-method-override',
        'transfer-encoding-x',
      ),
      HEADER_TEXT,
      { maxKeys: 3 },
    );
    const credential = fc.record({
      kind: fc.constantFrom<Credential['kind']>(
        'admin',
        'admin',
        'admin',
        'admin',
        'admin',
        'admin',
        'admin',
        'admin',
        'limited',
        'token',
        'token',
        'garbage',
        'none',
      ),
      place: fc.constantFrom<Credential['place']>(
        'bearer',
        'bearer',
        'bearer',
        'bearer',
        'bearer',
        'bearer',
        'x-api-key',
        'x-api-key',
        'query',
        'basic',
      ),
    });
    const body: fc.Arbitrary<BodySpec> = fc.oneof(
      { weight: op.body ? 4 : 1, arbitrary: valueOf(op.body).map((value) => ({ kind: 'json' as const, value })) },
      { weight: op.body ? 4 : 1, arbitrary: brokenValueOf(op.body).map((value) => ({ kind: 'json' as const, value })) },
      { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
      {
        weight: 1,
        arbitrary: fc
          .oneof(
            fc.string({ maxLength: 60 }),
            fc.constantFrom(
              '{',
              '{"a":}',
              '[1,2',
              'nul',
              '{"a":1}{"b":2}',
              '\uFEFF{}',
              '{"__proto__":{"x":1}}',
              '{"constructor":{"prototype":{}}}',
              '{"a":"\\ud800"}',
            ),
            fc.nat({ max: 40_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
            fc.nat({ max: 70_000 }).map((n) => JSON.stringify({ content: 'x'.repeat(n) })),
          )
          .map((text) => ({ kind: 'text' as const, text })),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
    );
    return fc.record({
      operation: fc.constant(index),
      method: sometimes(8, fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD')),
      params: fc.record(params),
      query,
      rawQuery: sometimes(8, fc.constantFrom('%', '%zz=1', 'a=%', '&&&', '=', 'limit=1&limit=2', 'limit[]=1', 'token', '%00=%00')),
      headers,
      credential,
      contentType: sometimes(4, fc.constantFrom(...CONTENT_TYPES)),
      body,
    });
  });
}

// ---- running a case ---------------------------------------------------------------------------

const KNOWN_CODES = new Set(Object.keys(ERROR_STATUS));
/** What no answer may hold: a stack frame, or a path of the server's own files. */
const LEAKS = [/\n\s+at [^\n]*:\d+:\d+/, /node_modules/, /\bfile:\/\//, /\/src\/[a-z/-]+\.(?:ts|js)\b/];

interface Outcome {
  status: number;
  text: string;
  url: string;
  method: string;
}

/** Lone surrogates as U+FFFD, as a browser would send them (encodeURIComponent throws on them). */
const wellFormed = (text: string) => text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

function resolveId(ref: IdRef, fixtures: Fixtures): string {
  if (ref.kind === 'literal') return ref.raw ? ref.text : encodeURIComponent(wellFormed(ref.text));
  const pool =
    ref.kind === 'session' ? fixtures.sessions.map((s) => s.id) : ref.kind === 'agent' ? fixtures.agents : fixtures.keys.map((k) => k.id);
  const id = pool[ref.index % Math.max(pool.length, 1)] ?? '00000000-0000-4000-8000-00000000dead';
  return ref.upper ? id.toUpperCase() : id;
}

function secretOf(credential: Credential, fixtures: Fixtures, sessionIndex: number): string | undefined {
  switch (credential.kind) {
    case 'admin':
      return ADMIN_KEY;
    case 'limited':
      return fixtures.keys[0]?.key ?? 'ask_revoked';
    case 'token':
      return fixtures.sessions[sessionIndex % Math.max(fixtures.sessions.length, 1)]?.token ?? 'ast_gone';
    case 'garbage':
      return 'ask_NotAKeyNotAKeyNotAKeyNotAKeyNotAKey0000';
    default:
      return undefined;
  }
}

async function runCase(server: TestServer, operations: Operation[], fixtures: Fixtures, c: FuzzCase): Promise<Outcome> {
  const op = operations[c.operation]!;
  const method = c.method ?? op.method;
  let sessionIndex = 0;
  const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const ref = c.params[name];
    if (ref && ref.kind === 'session') sessionIndex = ref.index;
    return ref ? resolveId(ref, fixtures) : 'x';
  });
  const search = new URLSearchParams();
  for (const [name, value] of c.query) search.append(wellFormed(name), wellFormed(value));
  const secret = secretOf(c.credential, fixtures, sessionIndex);
  if (secret !== undefined && c.credential.place === 'query') search.append('token', secret);
  let query = search.toString();
  if (c.rawQuery) query += (query ? '&' : '') + c.rawQuery;
  const url = `${server.url}${path}${query ? `?${query}` : ''}`;

  const headers: Record<string, string> = { ...c.headers };
  if (secret !== undefined && c.credential.place === 'bearer') headers.authorization = `Bearer ${secret}`;
  if (secret !== undefined && c.credential.place === 'x-api-key') headers['x-api-key'] = secret;
  if (secret !== undefined && c.credential.place === 'basic')
    headers.authorization = `Basic ${Buffer.from(`u:${secret}`).toString('base64')}`;
  let body: string | Uint8Array | undefined;
  if (c.body.kind === 'json') body = JSON.stringify(c.body.value) ?? 'null';
  else if (c.body.kind === 'text') body = c.body.text;
  else if (c.body.kind === 'bytes') body = c.body.bytes;
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) body = undefined;
  if (body !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
  else if (c.contentType !== undefined) headers['content-type'] = c.contentType;

  const controller = new AbortController();
  const response = await fetch(url, { method, headers, body, signal: controller.signal, redirect: 'manual' });
  let text = '';
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) controller.abort();
  else text = await response.text();
  return { status: response.status, text, url, method };
}

const templateOf = (path: string) => new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+')}/?$`);

/** The checks of one answer (the store comparison is the caller's). */
function checkAnswer(operations: Operation[], op: Operation, outcome: Outcome): void {
  const where = `${outcome.method} ${outcome.url} → ${outcome.status} ${outcome.text.slice(0, 300)}`;
  assert.ok(outcome.status < 500, `server error: ${where}`);
  for (const leak of LEAKS) assert.doesNotMatch(outcome.text, leak, `leak: ${where}`);
  if (outcome.status < 400) {
    // The operation the request actually named (the URL as sent: `/a/./b` is `/a/b`), its method
    // (HEAD is GET's).
    const method = outcome.method === 'HEAD' ? 'GET' : outcome.method;
    const path = new URL(outcome.url).pathname;
    const named = operations.find((o) => o.method === method && templateOf(o.path).test(path));
    assert.ok(named, `a wrong method succeeded: ${where}`);
    assert.ok(named.statuses.has(outcome.status), `undocumented status: ${where}`);
    return;
  }
  if (outcome.method === 'HEAD') return;
  let parsed: { success?: unknown; error?: { code?: string; message?: unknown } };
  try {
    parsed = JSON.parse(outcome.text);
  } catch {
    assert.fail(`not JSON: ${where}`);
  }
  assert.equal(parsed.success, false, `not the envelope: ${where}`);
  assert.ok(KNOWN_CODES.has(parsed.error?.code ?? ''), `unknown code: ${where}`);
  assert.equal(typeof parsed.error?.message, 'string', `no message: ${where}`);
  // 431 (headers or URL over Node's limit) has no code of its own: PAYLOAD_TOO_LARGE (docs/security.md).
  const expected = outcome.status === 431 ? 'PAYLOAD_TOO_LARGE' : undefined;
  if (expected) assert.equal(parsed.error?.code, expected, `431 with another code: ${where}`);
  else assert.equal(ERROR_STATUS[parsed.error?.code as keyof typeof ERROR_STATUS], outcome.status, `status and code disagree: ${where}`);
}

// ---- fixtures and the property --------------------------------------------------------------

const SPARE_AGENT = '00000000-0000-4000-8000-0000000f0220';

/** Makes sure the fuzzer has sessions, agents and a limited key to aim at. */
async function ensureFixtures(server: TestServer, fixtures: Fixtures): Promise<void> {
  const { store } = server.app;
  for (const id of [ELIZA, SPARE_AGENT]) {
    if (!(await store.getAgent(id))) {
      const res = await server.request('POST', '/api/agents', { body: { id, name: 'Fuzz target', provider: { type: 'eliza' } } });
      assert.equal(res.status, 201, res.text);
    }
  }
  fixtures.agents = [ELIZA, SPARE_AGENT];
  const live: Fixtures['sessions'] = [];
  for (const s of fixtures.sessions) if (await store.getSession(s.id)) live.push(s);
  while (live.length < 3) {
    const res = await server.request('POST', '/api/messaging/sessions', {
      body: { agentId: live.length % 2 ? SPARE_AGENT : ELIZA, userId: USER, metadata: { n: live.length } },
    });
    assert.equal(res.status, 201, res.text);
    live.push({ id: res.body.sessionId, token: res.body.sessionToken });
  }
  fixtures.sessions = live;
  const keys = (await store.listApiKeys()).map((k) => k.id);
  fixtures.keys = fixtures.keys.filter((k) => keys.includes(k.id));
  if (fixtures.keys.length === 0) {
    const res = await server.request('POST', '/api/keys', { body: { name: 'fuzz limited', scopes: ['sessions:read', 'metrics:read'] } });
    assert.equal(res.status, 201, res.text);
    fixtures.keys.push({ id: res.body.id, key: res.body.key });
  }
  await server.app.replies.idle();
}

export interface FuzzOptions {
  seed: number;
  numRuns: number;
  /** Called every `every` cases with the count so far (progress for long runs). */
  progress?: { every: number; report: (done: number) => void };
}

/**
 * Runs the property; throws fast-check's report (seed, path and counterexample) on failure.
 * Stored state grows with the 2xx cases, so it is pruned: sessions beyond the fixtures and the
 * keys and agents the fuzzer created are deleted every 200 cases.
 */
export async function fuzzServer(server: TestServer, options: FuzzOptions): Promise<{ cases: number; statuses: Map<number, number> }> {
  const doc = (await server.request('GET', '/openapi.json', { token: null })).body;
  const operations = operationsOf(doc);
  const fixtures: Fixtures = { sessions: [], agents: [], keys: [] };
  await ensureFixtures(server, fixtures);
  let current = await storeSnapshot(server);
  let cases = 0;
  const statuses = new Map<number, number>();

  await assertShort(
    fc.asyncProperty(caseArbitrary(operations), async (c) => {
      const outcome = await runCase(server, operations, fixtures, c);
      cases++;
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      if (options.progress && cases % options.progress.every === 0) options.progress.report(cases);
      checkAnswer(operations, operations[c.operation]!, outcome);
      // Replies to accepted messages land after the answer: wait for them before comparing.
      await server.app.replies.idle();
      const after = await storeSnapshot(server);
      if (outcome.status >= 400) {
        assert.deepEqual(
          after,
          current,
          `a refused request changed the store: ${outcome.method} ${outcome.url} → ${outcome.status} ${outcome.text.slice(0, 200)}`,
        );
        return;
      }
      current = after;
      if (cases % 200 === 0 || outcome.method === 'DELETE') {
        if (cases % 200 === 0) await prune(server, fixtures);
        await ensureFixtures(server, fixtures);
        current = await storeSnapshot(server);
      }
    }),
    { seed: options.seed, numRuns: options.numRuns, endOnFailure: true },
  );
  return { cases, statuses };
}

/**
 * fc.assert, with a report that fits a terminal: what failed first, then the seed and path to
 * replay it, then the counterexample cut to a readable length (generated texts can be 70 KB).
 */
async function assertShort<T>(property: fc.IAsyncProperty<T>, parameters: fc.Parameters<T>): Promise<void> {
  const details = await fc.check(property, parameters);
  if (!details.failed) return;
  const example = JSON.stringify(details.counterexample, (_k, v) =>
    typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…(${v.length} chars)` : v instanceof Uint8Array ? [...v] : v,
  );
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `Property failed after ${details.numRuns} cases: ${error.slice(0, 2000)}\n` +
      `Replay with FUZZ_SEED=${details.seed} (path ${details.counterexamplePath})\n` +
      `Counterexample: ${example.slice(0, 4000)}`,
  );
}

/** Deletes every session (the fixtures' too: their histories grow) and what the fuzzer created. */
async function prune(server: TestServer, fixtures: Fixtures): Promise<void> {
  const { store } = server.app;
  const list = await store.listSessions({ status: 'all', limit: 1000, offset: 0, now: server.clock.now(), retentionMs: 1e15 });
  for (const s of list.sessions) await server.request('DELETE', `/api/messaging/sessions/${s.id}`);
  fixtures.sessions = [];
  for (const agent of await store.listAgents()) {
    if (!fixtures.agents.includes(agent.id)) await server.request('DELETE', `/api/agents/${agent.id}?force=true`);
  }
  const keepKeys = new Set(fixtures.keys.map((k) => k.id));
  for (const key of await store.listApiKeys()) if (!keepKeys.has(key.id)) await server.request('DELETE', `/api/keys/${key.id}`);
  await server.app.replies.idle();
}
