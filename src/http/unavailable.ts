/**
 * A backing service (PostgreSQL, Redis) being away (store/unavailable.ts) is answered 503
 * SERVICE_UNAVAILABLE rather than 500: the request may succeed on retry, and nothing about the
 * service's internals reaches the client.
 */
import { AppError } from '../domain/errors.js';
import { isServiceUnavailable } from '../store/unavailable.js';
import { toAppError } from './errors.js';

/** toAppError, with "a backing service is away" as 503 SERVICE_UNAVAILABLE instead of 500. */
export function describeFailure(error: unknown): AppError {
  return isServiceUnavailable(error)
    ? new AppError('SERVICE_UNAVAILABLE', 'A backing service is unreachable; retry shortly')
    : toAppError(error);
}
