import assert from 'node:assert/strict';
import { AppError } from '../../src/domain/errors.js';

/** Runs `fn`, expecting an AppError, and returns it for exact assertions. */
export function catchAppError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an AppError to be thrown');
}
