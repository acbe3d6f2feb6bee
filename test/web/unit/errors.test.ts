/** API failures read from the error envelope, and how they are shown. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError, describeError, errorFromBody, isAbort } from '../../../web/src/api/errors.js';

describe('errorFromBody', () => {
  test('the envelope gives code, message and details', () => {
    const error = errorFromBody(
      400,
      'Bad Request',
      { success: false, error: { code: 'VALIDATION_ERROR', message: 'Invalid request', details: 'timeoutMinutes: must be >= 5' } },
      'key',
    );
    assert.ok(error instanceof ApiError);
    assert.deepEqual(
      [error.status, error.code, error.message, error.details, error.credential],
      [400, 'VALIDATION_ERROR', 'Invalid request', 'timeoutMinutes: must be >= 5', 'key'],
    );
  });
  test('without an envelope: the HTTP status', () => {
    const error = errorFromBody(502, 'Bad Gateway', '<html>', 'token');
    assert.deepEqual([error.code, error.message], ['HTTP_502', 'Bad Gateway']);
    assert.equal(errorFromBody(500, '', undefined).message, 'Request failed');
  });
});

describe('describeError', () => {
  test('CODE: message (details)', () => {
    assert.equal(
      describeError(new ApiError(410, 'SESSION_EXPIRED', 'Session has expired', undefined, 'token')),
      'SESSION_EXPIRED: Session has expired',
    );
    assert.equal(
      describeError(new ApiError(400, 'VALIDATION_ERROR', 'Invalid request', 'userId', 'key')),
      'VALIDATION_ERROR: Invalid request (userId)',
    );
    assert.equal(describeError(new ApiError(400, 'X', 'y', { field: 'a' }, 'key')), 'X: y ({"field":"a"})');
  });
  test('anything else', () => {
    assert.equal(describeError(new Error('boom')), 'ERROR: boom');
    assert.equal(describeError('text'), 'ERROR: text');
  });
  test('isAbort', () => {
    assert.equal(isAbort(Object.assign(new Error('x'), { name: 'AbortError' })), true);
    assert.equal(isAbort(new Error('x')), false);
    assert.equal(isAbort(null), false);
  });
});
