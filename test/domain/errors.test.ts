/** SPEC §4 "Errors": the closed set of codes and the status each answers with. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AppError,
  ERROR_STATUS,
  agentNotFound,
  sessionExpired,
  sessionNotFound,
  validationError,
  type ErrorCode,
} from '../../src/domain/errors.js';

/** The status table of SPEC §4, written out independently of the source. */
const SPEC_TABLE: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  INVALID_PAGINATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  SESSION_NOT_FOUND: 404,
  AGENT_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  REPLY_IN_PROGRESS: 409,
  SESSION_EXPIRED: 410,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SESSION_RENEWAL_FAILED: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

test('ERROR_STATUS is exactly the SPEC table: no code missing, none extra', () => {
  assert.deepEqual({ ...ERROR_STATUS }, SPEC_TABLE);
});

test('every code gives an AppError with its status', () => {
  for (const [code, status] of Object.entries(SPEC_TABLE) as Array<[ErrorCode, number]>) {
    const error = new AppError(code, 'm');
    assert.equal(error.status, status, code);
    assert.equal(error.code, code);
  }
});

test('AppError carries message, details and extra fields', () => {
  const error = new AppError('CONFLICT', 'Busy', 'Idempotency-Key: still processing', { sessionId: 's' });
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'AppError');
  assert.equal(error.message, 'Busy');
  assert.equal(error.details, 'Idempotency-Key: still processing');
  assert.deepEqual(error.extra, { sessionId: 's' });
  const bare = new AppError('NOT_FOUND', 'Not found');
  assert.equal(bare.details, undefined);
  assert.equal(bare.extra, undefined);
});

test('helpers build the codes the SPEC names', () => {
  const invalid = validationError('metadata: must be a JSON object');
  assert.deepEqual(
    [invalid.code, invalid.status, invalid.message, invalid.details],
    ['VALIDATION_ERROR', 400, 'Invalid request', 'metadata: must be a JSON object'],
  );
  assert.equal(validationError('x', 'Custom').message, 'Custom');

  const missing = sessionNotFound('s1');
  assert.deepEqual([missing.code, missing.status, missing.extra], ['SESSION_NOT_FOUND', 404, { sessionId: 's1' }]);

  const expired = sessionExpired('s1', Date.parse('2026-01-01T00:30:00.000Z'));
  assert.deepEqual(
    [expired.code, expired.status, expired.extra],
    ['SESSION_EXPIRED', 410, { sessionId: 's1', expiresAt: '2026-01-01T00:30:00.000Z' }],
  );

  const agent = agentNotFound('a1');
  assert.deepEqual([agent.code, agent.status, agent.extra], ['AGENT_NOT_FOUND', 404, { agentId: 'a1' }]);
});
