/** SPEC §5 input rules that live in src/domain/validation.ts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AppError } from '../../src/domain/errors.js';
import {
  CONTENT_MAX_CODE_POINTS,
  HISTORY_LIMIT,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  METADATA_MAX_BYTES,
  METADATA_MAX_DEPTH,
  countCodePoints,
  inspectJson,
  isUuid,
  parseCursor,
  parseHistoryLimit,
  validateContent,
  validateIdempotencyKey,
  validateMetadata,
} from '../../src/domain/validation.js';
import { catchAppError } from '../support/app-error.js';

function assertValidationError(fn: () => unknown, details?: string | RegExp): AppError {
  const error = catchAppError(fn);
  assert.equal(error.code, 'VALIDATION_ERROR');
  assert.equal(error.status, 400);
  if (typeof details === 'string') assert.equal(error.details, details);
  else if (details) assert.match(error.details ?? '', details);
  return error;
}

/** The path of the first forbidden key (`__proto__`, `constructor`, `prototype`), after `path`. */
const findForbiddenKey = (value: unknown, path = ''): string | undefined => inspectJson(value, path).forbiddenKey;
/** How many levels of objects and arrays deep `value` goes. */
const nestingDepth = (value: unknown): number => inspectJson(value).depth;

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** Metadata nested exactly `levels` deep: the outer object is level 1. */
function nestedObjects(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { [`k${i}`]: value };
  return value;
}

describe('limits', () => {
  test('constants match SPEC §5', () => {
    assert.equal(METADATA_MAX_BYTES, 16_384);
    assert.equal(METADATA_MAX_DEPTH, 5);
    assert.equal(CONTENT_MAX_CODE_POINTS, 10_000);
    assert.equal(IDEMPOTENCY_KEY_MAX_LENGTH, 255);
    assert.deepEqual(HISTORY_LIMIT, { min: 1, max: 100, default: 50 });
  });
});

describe('isUuid', () => {
  test('accepts UUIDs in either case', () => {
    assert.equal(isUuid('00000000-0000-4000-8000-000000000001'), true);
    assert.equal(isUuid('6F1C3C1E-3B7A-4B8E-9F53-0A4D5D6B7C01'), true);
  });

  test('rejects anything else', () => {
    for (const value of [
      '',
      'abc',
      '00000000-0000-4000-8000-00000000000',
      '00000000000040008000000000000001',
      '00000000-0000-4000-8000-000000000001 ',
      'g0000000-0000-4000-8000-000000000001',
    ]) {
      assert.equal(isUuid(value), false, value);
    }
  });
});

describe('nestingDepth', () => {
  test('counts the outer object as level 1 and every object or array inside as one more', () => {
    assert.equal(nestingDepth('x'), 0);
    assert.equal(nestingDepth(null), 0);
    assert.equal(nestingDepth({}), 1);
    assert.equal(nestingDepth({ a: 1, b: 'x', c: null }), 1);
    assert.equal(nestingDepth({ a: [] }), 2);
    assert.equal(nestingDepth({ a: [1, { b: 2 }] }), 3);
    assert.equal(nestingDepth({ a: {}, b: { c: { d: {} } } }), 4);
    assert.equal(nestingDepth(nestedObjects(5)), 5);
  });
});

describe('validateMetadata', () => {
  test('null and undefined mean {}', () => {
    assert.deepEqual(validateMetadata(null), {});
    assert.deepEqual(validateMetadata(undefined), {});
  });

  test('returns a valid object as given', () => {
    const metadata = { plan: 'pro', n: 1.5, ok: true, none: null, list: [1, 'a', { b: false }] };
    assert.equal(validateMetadata(metadata), metadata);
  });

  test('arrays, strings, numbers and booleans are rejected', () => {
    for (const value of [[], [{ a: 1 }], 'text', '{}', 42, true]) {
      assertValidationError(() => validateMetadata(value), 'metadata: must be a JSON object');
    }
  });

  test('names the field it was given', () => {
    assertValidationError(() => validateMetadata([], 'message.metadata'), 'message.metadata: must be a JSON object');
  });

  test('depth exactly 5 with objects is accepted, 6 rejected', () => {
    assert.deepEqual(validateMetadata(nestedObjects(5)), nestedObjects(5));
    assertValidationError(() => validateMetadata(nestedObjects(6)), 'metadata: nested deeper than 5 levels');
  });

  test('arrays count as levels too', () => {
    const five = { a: [[[[]]]] };
    const six = { a: [[[[[]]]]] };
    assert.equal(nestingDepth(five), 5);
    assert.deepEqual(validateMetadata(five), five);
    assertValidationError(() => validateMetadata(six), 'metadata: nested deeper than 5 levels');
  });

  test('mixed objects and arrays: 5 ok, 6 rejected', () => {
    const five = { a: [{ b: [{ c: 1 }] }] };
    const six = { a: [{ b: [{ c: {} }] }] };
    assert.deepEqual(validateMetadata(five), five);
    assertValidationError(() => validateMetadata(six), /nested deeper than 5/);
  });

  test('a deep branch beside a shallow one is still rejected', () => {
    assertValidationError(() => validateMetadata({ shallow: 1, deep: nestedObjects(5) }), /nested deeper/);
  });

  test('exactly 16,384 bytes of ASCII JSON is accepted, 16,385 rejected', () => {
    const ok = { k: 'a'.repeat(METADATA_MAX_BYTES - 8) }; // {"k":"…"} has 8 bytes around
    assert.equal(bytes(ok), 16_384);
    assert.deepEqual(validateMetadata(ok), ok);
    const over = { k: 'a'.repeat(METADATA_MAX_BYTES - 7) };
    assert.equal(bytes(over), 16_385);
    assertValidationError(() => validateMetadata(over), 'metadata: 16385 bytes, at most 16384 allowed');
  });

  test('bytes are UTF-8 bytes, not characters: multi-byte strings at the limit', () => {
    // '€' is 3 bytes, 'é' 2, '😀' 4: 16,376 bytes of string inside {"k":"…"}.
    const body = '😀'.repeat(1000) + '€'.repeat(2000) + 'é'.repeat(3000) + 'a'.repeat(16_376 - 4000 - 6000 - 6000);
    const ok = { k: body };
    assert.equal(bytes(ok), 16_384);
    assert.ok(JSON.stringify(ok).length < 16_384, 'fewer UTF-16 units than bytes');
    assert.deepEqual(validateMetadata(ok), ok);
    const over = { k: body + 'a' };
    assert.equal(bytes(over), 16_385);
    assertValidationError(() => validateMetadata(over), 'metadata: 16385 bytes, at most 16384 allowed');
    const overByMultiByte = { k: body.slice(0, -1) + 'é' }; // one 'a' replaced by a 2-byte char
    assert.equal(bytes(overByMultiByte), 16_385);
    assertValidationError(() => validateMetadata(overByMultiByte), /16385 bytes/);
  });

  test('size is of compact JSON: keys and punctuation count, no whitespace', () => {
    const keys: Record<string, string> = {};
    // {"k0000":"vvvv…",…}: each entry is "kNNNN":"<v>" plus a comma.
    let n = 0;
    while (bytes(keys) < METADATA_MAX_BYTES - 100) keys[`k${String(n++).padStart(4, '0')}`] = 'v'.repeat(20);
    const remaining = METADATA_MAX_BYTES - bytes(keys) - ',"z":""'.length;
    keys.z = 'x'.repeat(remaining);
    assert.equal(bytes(keys), 16_384);
    assert.equal(validateMetadata(keys), keys);
    keys.z += 'x';
    assertValidationError(() => validateMetadata(keys), /16385 bytes/);
  });

  test('__proto__ as an own key is rejected at the top level', () => {
    const value = JSON.parse('{"__proto__":1}');
    assert.ok(Object.hasOwn(value, '__proto__'));
    assertValidationError(() => validateMetadata(value), 'metadata.__proto__: this key is not allowed');
  });

  test('constructor and prototype keys are rejected', () => {
    assertValidationError(() => validateMetadata({ constructor: 'x' }), 'metadata.constructor: this key is not allowed');
    assertValidationError(() => validateMetadata({ prototype: {} }), 'metadata.prototype: this key is not allowed');
  });

  test('forbidden keys are rejected at any depth', () => {
    const value = JSON.parse('{"a":{"b":{"__proto__":{"polluted":true}}}}');
    assertValidationError(() => validateMetadata(value), 'metadata.a.b.__proto__: this key is not allowed');
    assertValidationError(
      () => validateMetadata({ a: { b: { c: { prototype: 1 } } } }),
      'metadata.a.b.c.prototype: this key is not allowed',
    );
  });

  test('forbidden keys inside arrays are rejected', () => {
    const value = JSON.parse('{"list":[1,{"ok":true},{"constructor":{"prototype":1}}]}');
    assertValidationError(() => validateMetadata(value), 'metadata.list[2].constructor: this key is not allowed');
    const nested = JSON.parse('{"a":[[{"__proto__":null}]]}');
    assertValidationError(() => validateMetadata(nested), 'metadata.a[0][0].__proto__: this key is not allowed');
  });

  test('the forbidden words as values or key fragments are fine', () => {
    const value = { note: '__proto__', constructorName: 'x', prototypes: ['constructor'], proto: 1 };
    assert.equal(validateMetadata(value), value);
  });

  test('nothing is merged or polluted by a rejected __proto__', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true}}');
    assertValidationError(() => validateMetadata(value));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('findForbiddenKey reports the path, or undefined', () => {
    assert.equal(findForbiddenKey({ a: [1, 2], b: { c: 'd' } }), undefined);
    assert.equal(findForbiddenKey('x'), undefined);
    assert.equal(findForbiddenKey(null), undefined);
    assert.equal(findForbiddenKey(JSON.parse('[{"__proto__":1}]')), '[0].__proto__');
    assert.equal(findForbiddenKey(JSON.parse('{"a":[{"b":[0,{"constructor":1}]}]}')), 'a[0].b[1].constructor');
  });

  test('findForbiddenKey puts a given prefix in front', () => {
    assert.equal(findForbiddenKey(JSON.parse('{"a":{"__proto__":1}}'), 'body'), 'body.a.__proto__');
    assert.equal(findForbiddenKey(JSON.parse('[{"prototype":1}]'), 'body'), 'body[0].prototype');
  });

  test('findForbiddenKey reports the first one in document order', () => {
    assert.equal(findForbiddenKey(JSON.parse('{"a":{"b":{"prototype":1}},"__proto__":1}')), 'a.b.prototype');
    assert.equal(findForbiddenKey(JSON.parse('{"x":1,"constructor":1,"a":{"prototype":1}}')), 'constructor');
    assert.equal(findForbiddenKey(JSON.parse('{"l":[{"ok":1},{"z":{"__proto__":1}}],"prototype":2}')), 'l[1].z.__proto__');
  });

  test('absurdly deep input (a 64 KB body can nest ~30,000 levels) is a 400, not a stack overflow', () => {
    const levels = 100_000;
    const deepArrays = JSON.parse(`{"m":${'['.repeat(levels)}${']'.repeat(levels)}}`);
    assert.equal(nestingDepth(deepArrays), levels + 1);
    assert.equal(findForbiddenKey(deepArrays), undefined);
    assertValidationError(() => validateMetadata(deepArrays), 'metadata: nested deeper than 5 levels');

    const deepObjects = JSON.parse(`${'{"a":'.repeat(levels)}{"__proto__":1}${'}'.repeat(levels)}`);
    const error = assertValidationError(() => validateMetadata(deepObjects), /__proto__: this key is not allowed$/);
    assert.equal(error.details, `metadata.${'a.'.repeat(levels)}__proto__: this key is not allowed`);
  });
});

describe('validateContent', () => {
  const ok = (content: string, policy: 'standard' | 'strict' = 'standard') =>
    assert.doesNotThrow(() => validateContent(content, policy), JSON.stringify(content.slice(0, 40)));

  test('plain text is accepted', () => {
    ok('Hello, ELIZA.');
    ok('x');
  });

  test('empty or whitespace-only content is rejected', () => {
    for (const content of ['', ' ', '   ', '\t', '\n', '\r\n', ' \t\r\n ', '\u00a0', '\u2003']) {
      assertValidationError(() => validateContent(content, 'standard'), 'content: must not be empty or only whitespace');
    }
  });

  test('surrounding whitespace is allowed and not an error', () => {
    ok('  hello  ');
  });

  test('exactly 10,000 code points is accepted, 10,001 rejected', () => {
    ok('a'.repeat(10_000));
    assertValidationError(() => validateContent('a'.repeat(10_001), 'standard'), 'content: at most 10000 characters allowed');
  });

  test('astral characters count as one code point each (two UTF-16 units)', () => {
    const emoji = '😀'.repeat(10_000);
    assert.equal(emoji.length, 20_000);
    assert.equal(countCodePoints(emoji), 10_000);
    ok(emoji);
    assertValidationError(() => validateContent(emoji + '😀', 'standard'), 'content: at most 10000 characters allowed');
    assertValidationError(() => validateContent(emoji + 'a', 'standard'), /at most 10000/);
    ok('a'.repeat(9_999) + '😀');
    assertValidationError(() => validateContent('a'.repeat(10_000) + '😀', 'standard'), /at most 10000/);
  });

  test('BMP multi-byte characters count once', () => {
    ok('é'.repeat(10_000));
    assertValidationError(() => validateContent('é'.repeat(10_001), 'standard'), /at most 10000/);
  });

  test('tab, CR and LF are allowed', () => {
    ok('line one\nline two');
    ok('a\tb');
    ok('windows\r\nline');
    ok('\tindented');
  });

  test('NUL and other C0 controls are rejected', () => {
    for (const code of [0x00, 0x01, 0x07, 0x08, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f]) {
      const content = `before${String.fromCharCode(code)}after`;
      assertValidationError(
        () => validateContent(content, 'standard'),
        'content: control characters other than tab, CR and LF are not allowed',
      );
    }
  });

  test('unpaired surrogates are rejected', () => {
    for (const content of ['\ud800', 'a\ud83dz', 'a\ude00z', 'end\udbff', '\udc00\ud800', '😀\ud83d']) {
      assertValidationError(() => validateContent(content, 'standard'), 'content: contains an unpaired surrogate');
    }
  });

  test('paired surrogates (emoji, astral CJK) are accepted', () => {
    ok('😀 👍🏽 𠜎 𝄞');
    ok('\ud83d\ude00');
  });

  const activeHtml = [
    '<script>alert(1)</script>',
    'hi <SCRIPT src=x>',
    '< script>',
    '<iframe src="https://example.com">',
    '<IFRAME>',
    '<a href="javascript:alert(1)">x</a>',
    'JavaScript :void(0)',
    '<img src=x onload=alert(1)>',
    '<body onerror = "x()">',
    '<div onClick="x">',
    '<svg/onload=alert(1)>',
    '<a href="#"onmouseover="x()">',
    '<img src=x onerror=alert(1)',
  ];

  test('strict policy rejects active HTML', () => {
    for (const content of activeHtml) {
      assertValidationError(() => validateContent(content, 'strict'), 'content: active HTML is not allowed by the strict content policy');
    }
  });

  test('standard policy accepts the same text byte for byte', () => {
    for (const content of activeHtml) ok(content, 'standard');
  });

  test('strict policy accepts ordinary text that merely mentions code', () => {
    for (const content of [
      'I like JavaScript',
      'if (a < b) return',
      'the onload event',
      'question=42',
      '<b>bold</b>',
      'script tags',
      'online=yes',
      'status: online = true',
      'x = onset=3',
    ]) {
      ok(content, 'strict');
    }
  });

  test('the other rules apply under strict too', () => {
    assertValidationError(() => validateContent('  ', 'strict'), /must not be empty/);
    assertValidationError(() => validateContent('a\u0000', 'strict'), /control characters/);
  });
});

describe('validateIdempotencyKey', () => {
  test('absent stays absent', () => {
    assert.equal(validateIdempotencyKey(undefined), undefined);
  });

  test('1 and 255 characters are accepted and returned', () => {
    assert.equal(validateIdempotencyKey('k'), 'k');
    const key = 'k'.repeat(255);
    assert.equal(validateIdempotencyKey(key), key);
  });

  test('256 characters and the empty string are rejected', () => {
    assertValidationError(() => validateIdempotencyKey('k'.repeat(256)), 'Idempotency-Key: 1 to 255 characters');
    assertValidationError(() => validateIdempotencyKey(''), 'Idempotency-Key: 1 to 255 characters');
  });
});

describe('parseCursor', () => {
  const T0 = Date.parse('2026-01-01T00:00:00.000Z');

  function assertInvalid(value: string, name: 'before' | 'after' = 'before'): void {
    const error = catchAppError(() => parseCursor(value, name));
    assert.equal(error.code, 'INVALID_PAGINATION', value);
    assert.equal(error.status, 400);
    assert.equal(error.details, `${name}: must be epoch milliseconds or an ISO-8601 date-time with a time zone`);
  }

  test('absent stays absent', () => {
    assert.equal(parseCursor(undefined, 'before'), undefined);
  });

  test('epoch milliseconds', () => {
    assert.equal(parseCursor(String(T0), 'before'), T0);
    assert.equal(parseCursor('0', 'after'), 0);
    assert.equal(parseCursor('1767225600123', 'after'), T0 + 123);
  });

  test('ISO-8601 with Z', () => {
    assert.equal(parseCursor('2026-01-01T00:00:00.000Z', 'before'), T0);
    assert.equal(parseCursor('2026-01-01T00:00:00Z', 'before'), T0);
    assert.equal(parseCursor('2026-01-01T00:00:00.5Z', 'before'), T0 + 500);
    assert.equal(parseCursor('2026-01-01T00:00Z', 'before'), T0);
  });

  test('ISO-8601 with an offset', () => {
    assert.equal(parseCursor('2026-01-01T01:00:00.000+01:00', 'after'), T0);
    assert.equal(parseCursor('2025-12-31T19:00:00-05:00', 'after'), T0);
    assert.equal(parseCursor('2026-01-01T05:30:00+0530', 'after'), T0);
  });

  test('ISO-8601 without a zone is rejected', () => {
    assertInvalid('2026-01-01T00:00:00.000');
    assertInvalid('2026-01-01T00:00:00');
    assertInvalid('2026-01-01');
  });

  test('garbage is rejected, naming the parameter', () => {
    for (const value of ['', 'abc', 'now', '-1', '1.5', '1e12', ' 1767225600000', '0x10', 'Thu, 01 Jan 2026 00:00:00 GMT']) {
      assertInvalid(value, 'after');
    }
    assertInvalid('2026-01-01T25:00:00Z', 'before');
  });

  test('days that do not exist are rejected, leap days accepted', () => {
    for (const value of [
      '2026-02-30T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '2026-01-32T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
    ]) {
      assertInvalid(value);
    }
    assert.equal(parseCursor('2024-02-29T00:00:00Z', 'before'), Date.parse('2024-02-29T00:00:00.000Z'));
    assert.equal(parseCursor('2026-01-31T23:59:59.999Z', 'before'), Date.parse('2026-01-31T23:59:59.999Z'));
  });
});

describe('parseHistoryLimit', () => {
  const assertInvalid = (value: string) => {
    const error = catchAppError(() => parseHistoryLimit(value));
    assert.equal(error.code, 'INVALID_PAGINATION', value);
    assert.equal(error.status, 400);
    assert.equal(error.details, 'limit: an integer from 1 to 100');
  };

  test('absent: the default 50', () => {
    assert.equal(parseHistoryLimit(undefined), 50);
  });

  test('1 and 100 are accepted', () => {
    assert.equal(parseHistoryLimit('1'), 1);
    assert.equal(parseHistoryLimit('50'), 50);
    assert.equal(parseHistoryLimit('100'), 100);
  });

  test('0, 101, abc, 1.5 and other non-integers are rejected, never clamped', () => {
    for (const value of ['0', '101', '1000', '99999', 'abc', '1.5', '', '-1', '1e2', ' 5']) assertInvalid(value);
  });
});
