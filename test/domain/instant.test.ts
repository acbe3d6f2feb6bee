/** isoInstant writes exactly what Date#toISOString writes, faster; outside its range it is Date. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoInstant } from '../../src/domain/instant.js';

const YEAR_10000 = 253_402_300_800_000;

test('the same text as toISOString at the edges: epoch, leap days, century years, the last instant before 10000', () => {
  const instants = [
    0,
    1,
    999,
    86_399_999,
    86_400_000,
    Date.UTC(2000, 1, 29, 23, 59, 59, 999),
    Date.UTC(2000, 2, 1),
    Date.UTC(2100, 1, 28, 12),
    Date.UTC(2100, 2, 1),
    Date.UTC(2024, 11, 31, 23, 59, 59, 999),
    Date.UTC(2025, 0, 1),
    YEAR_10000 - 1,
  ];
  for (const ms of instants) assert.equal(isoInstant(ms), new Date(ms).toISOString(), String(ms));
});

test('the same text as toISOString for 200,000 random instants, in any order (the cached day changes)', () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 200_000; i++) {
    const ms = i % 2 === 0 ? Math.floor(random() * YEAR_10000) : 1_764_600_000_000 + Math.floor(random() * 10 * 86_400_000);
    assert.equal(isoInstant(ms), new Date(ms).toISOString(), String(ms));
  }
});

test('outside 1970–9999, or not a whole millisecond: exactly Date (six-digit years; RangeError when invalid)', () => {
  for (const ms of [-1, -86_400_001, YEAR_10000, YEAR_10000 + 1, 1.5]) assert.equal(isoInstant(ms), new Date(ms).toISOString());
  assert.throws(() => isoInstant(Number.NaN), RangeError);
  assert.throws(() => isoInstant(8.64e15 + 1), RangeError);
});
