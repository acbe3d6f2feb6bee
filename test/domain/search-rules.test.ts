/**
 * The pure rules behind search, the list's filters and keyset cursors (SPEC §12): which words a
 * query has, how text is folded, which stored values a filter matches, which cursors are ours.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../src/domain/errors.js';
import { decodeCursor, encodeCursor } from '../../src/domain/keyset.js';
import { filterTargets, parseMetadataFilters } from '../../src/domain/list-filters.js';
import { foldForSearch, parseSearchQuery, searchWords } from '../../src/domain/search.js';

/** Whether folded text contains every word: the rule the stores implement. */
const matchesAll = (folded: string, words: readonly string[]): boolean => words.every((w) => folded.includes(w));

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError);
    return error.code;
  }
  return 'no error';
};

describe('search words', () => {
  test('runs of letters and digits in any script, folded, distinct, longest first; contained words dropped', () => {
    assert.deepEqual(searchWords('Hello, WORLD! hello 42'), ['hello', 'world', '42']);
    assert.deepEqual(searchWords('Café—crème'), ['crème', 'café']);
    assert.deepEqual(searchWords('Привет, мир'), ['привет', 'мир']);
    assert.deepEqual(searchWords('東京に行きました'), ['東京に行きました']);
    assert.deepEqual(searchWords('order orders'), ['orders']);
    assert.deepEqual(searchWords('नमस्ते दुनिया'), ['दुनिया', 'नमस्ते'], 'combining marks stay in the word');
    assert.deepEqual(searchWords('?! -- ...'), []);
  });

  test('folding is NFKC then lower case', () => {
    assert.equal(foldForSearch('ＡＢＣ ﬁ É'), 'abc fi é');
    assert.equal(foldForSearch('ΚΑΛΗΜΈΡΑ'), 'καλημέρα');
    assert.ok(matchesAll(foldForSearch('Un CAFÉ crème'), searchWords('café CRÈME')));
    assert.ok(!matchesAll(foldForSearch('Un CAFÉ'), searchWords('cafe')));
  });

  test('q: 1–200 characters with at least one word', () => {
    assert.equal(
      code(() => parseSearchQuery(undefined)),
      'VALIDATION_ERROR',
    );
    assert.equal(
      code(() => parseSearchQuery('')),
      'VALIDATION_ERROR',
    );
    assert.equal(
      code(() => parseSearchQuery('!!')),
      'VALIDATION_ERROR',
    );
    assert.equal(
      code(() => parseSearchQuery('a'.repeat(201))),
      'VALIDATION_ERROR',
    );
    assert.deepEqual(parseSearchQuery('北'.repeat(200)), ['北'.repeat(200)]);
  });
});

describe('metadata filters', () => {
  test('keys and values', () => {
    assert.deepEqual(parseMetadataFilters({ 'metadata.plan': 'pro', status: 'all', 'metadata.tier': ['1', '2'] }), [
      { key: 'plan', value: 'pro' },
      { key: 'tier', value: '1' },
      { key: 'tier', value: '2' },
    ]);
    for (const name of ['metadata.', 'metadata.a.b', 'metadata.ü', `metadata.${'k'.repeat(65)}`]) {
      assert.equal(
        code(() => parseMetadataFilters({ [name]: 'x' })),
        'VALIDATION_ERROR',
        name,
      );
    }
    assert.equal(
      code(() => parseMetadataFilters({ 'metadata.a': 'x\u0000' })),
      'VALIDATION_ERROR',
    );
  });

  test('what a value matches: the string, and the boolean or number whose JSON text it is', () => {
    assert.deepEqual(filterTargets('pro'), { string: 'pro' });
    assert.deepEqual(filterTargets('true'), { string: 'true', boolean: true });
    assert.deepEqual(filterTargets('3'), { string: '3', number: 3 });
    assert.deepEqual(filterTargets('-0.5'), { string: '-0.5', number: -0.5 });
    assert.deepEqual(filterTargets('1e+21'), { string: '1e+21', number: 1e21 });
    assert.deepEqual(filterTargets('3.0'), { string: '3.0' }, 'the server writes 3, never 3.0');
    assert.deepEqual(filterTargets('01'), { string: '01' });
    assert.deepEqual(filterTargets('null'), { string: 'null' });
  });
});

describe('keyset cursors', () => {
  const id = '5f0c7a43-52f5-4c2f-9d2c-5b8a4a0e9d11';

  test('round trip, per kind', () => {
    const text = encodeCursor('s', { createdAt: 1_767_225_600_000, id });
    assert.match(text, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor('s', text), { createdAt: 1_767_225_600_000, id });
    assert.equal(
      code(() => decodeCursor('m', text)),
      'INVALID_PAGINATION',
    );
  });

  test('only the exact text the server issues', () => {
    const b = (s: string) => Buffer.from(s).toString('base64url');
    for (const text of [
      '',
      '!!',
      b(`s.1.${id.toUpperCase()}`),
      b(`s.01.${id}`),
      b(`s.1.5.${id}`),
      b(`s.1e3.${id}`),
      b(`s.99999999999999999.${id}`),
      `${b(`s.1.${id}`)}=`,
    ]) {
      assert.equal(
        code(() => decodeCursor('s', text)),
        'INVALID_PAGINATION',
        text,
      );
    }
  });
});
