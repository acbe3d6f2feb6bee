/** Which failures mean "PostgreSQL or Redis is away" (503), and which stay 500. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFailure } from '../../src/http/unavailable.js';
import { isServiceUnavailable } from '../../src/store/unavailable.js';

test('connection failures of pg, ioredis and Node are SERVICE_UNAVAILABLE; other errors are not', () => {
  const unavailable = [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    new Error('timeout exceeded when trying to connect'),
    new Error('Connection terminated unexpectedly'),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
    Object.assign(new Error('connection failure'), { code: '08006' }),
    Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' }),
    new Error('Connection is closed.'),
    new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })], ''),
  ];
  for (const error of unavailable) {
    assert.ok(isServiceUnavailable(error), error.message);
    const described = describeFailure(error);
    assert.equal(described.code, 'SERVICE_UNAVAILABLE');
    assert.equal(described.status, 503);
  }
  const others = [
    new Error('boom'),
    Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
    Object.assign(new Error('syntax error'), { code: '42601' }),
    undefined,
    'a string',
  ];
  for (const error of others) {
    assert.equal(isServiceUnavailable(error), false, String(error));
    if (error instanceof Error) assert.equal(describeFailure(error).code, 'INTERNAL_ERROR');
  }
});
