import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServerClock, serverTimeOf } from '../../../web/src/time/server-clock.js';

describe('ServerClock', () => {
  test('a direct answer sets the server time; local time then moves it on', () => {
    let local = 1_000_000;
    const clock = new ServerClock(() => local);
    assert.equal(clock.now(), 1_000_000);
    clock.answered(5_000_000);
    assert.equal(clock.now(), 5_000_000);
    local += 1500;
    assert.equal(clock.now(), 5_001_500);
    // A later answer may also move it back (the browser's clock jumped ahead meanwhile).
    clock.answered(4_000_000);
    assert.equal(clock.now(), 4_000_000);
  });

  test("an event's time only moves the clock forward (a replayed backlog is older)", () => {
    const clock = new ServerClock(() => 0);
    clock.answered(10_000);
    clock.atLeast(9_000);
    assert.equal(clock.now(), 10_000);
    clock.atLeast(12_000);
    assert.equal(clock.now(), 12_000);
    clock.atLeast(Number.NaN);
    clock.answered(undefined);
    assert.equal(clock.now(), 12_000);
  });
});

describe('serverTimeOf', () => {
  test('expiresAt minus timeRemaining', () => {
    assert.equal(serverTimeOf({ expiresAt: '2026-01-01T00:30:00.000Z', timeRemaining: 1_800_000 }), Date.parse('2026-01-01T00:00:00.000Z'));
  });
  test('unknown when nothing remains or a field is missing', () => {
    assert.equal(serverTimeOf({ expiresAt: '2026-01-01T00:30:00.000Z', timeRemaining: 0 }), undefined);
    assert.equal(serverTimeOf({ timeRemaining: 5 }), undefined);
    assert.equal(serverTimeOf({ expiresAt: 'soon', timeRemaining: 5 }), undefined);
  });
});
