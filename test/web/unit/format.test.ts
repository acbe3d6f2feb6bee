import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeDuration, formatAgo, formatCountdown } from '../../../web/src/time/format.js';

describe('formatCountdown', () => {
  test('minutes and seconds, rounded up to the second', () => {
    assert.equal(formatCountdown(299_000), '4:59');
    assert.equal(formatCountdown(298_001), '4:59');
    assert.equal(formatCountdown(1), '0:01');
    assert.equal(formatCountdown(60_000), '1:00');
  });
  test('hours once there are any', () => {
    assert.equal(formatCountdown(3_600_000), '1:00:00');
    assert.equal(formatCountdown(3_723_000), '1:02:03');
    assert.equal(formatCountdown(12 * 3_600_000), '12:00:00');
  });
  test('never negative', () => {
    assert.equal(formatCountdown(0), '0:00');
    assert.equal(formatCountdown(-5000), '0:00');
  });
});

describe('describeDuration', () => {
  test('seconds under a minute, then whole minutes rounded up, then hours', () => {
    assert.equal(describeDuration(1000), '1 second');
    assert.equal(describeDuration(40_000), '40 seconds');
    assert.equal(describeDuration(60_000), '1 minute');
    assert.equal(describeDuration(299_000), '5 minutes');
    assert.equal(describeDuration(60 * 60_000), '1 hour');
    assert.equal(describeDuration(125 * 60_000), '2 hours 5 minutes');
    assert.equal(describeDuration(-1), '0 seconds');
  });
});

describe('formatAgo', () => {
  test('coarse ages', () => {
    assert.equal(formatAgo(0), 'just now');
    assert.equal(formatAgo(4999), 'just now');
    assert.equal(formatAgo(12_000), '12 s ago');
    assert.equal(formatAgo(5 * 60_000 + 59_000), '5 min ago');
    assert.equal(formatAgo(3 * 3_600_000), '3 h ago');
    assert.equal(formatAgo(47 * 3_600_000), '47 h ago');
    assert.equal(formatAgo(50 * 3_600_000), '2 d ago');
    assert.equal(formatAgo(-10_000), 'just now', 'a clock a little ahead shows no negative age');
  });
});
