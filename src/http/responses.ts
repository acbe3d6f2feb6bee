import type { TSchema } from 'typebox';
import { ErrorEnvelope } from './schemas.js';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (VALIDATION_ERROR, INVALID_JSON, INVALID_PAGINATION)',
  401: 'Missing or invalid credentials',
  403: 'Credentials without the right to do this',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict (CONFLICT, REPLY_IN_PROGRESS)',
  410: 'Session has expired',
  413: 'Body larger than 65,536 bytes',
  415: 'Body is not application/json',
  422: 'Session cannot be renewed: maximum duration reached',
  429: 'Rate limited',
  500: 'Internal error',
  503: 'Service unavailable',
};

/** The route's `response` schema: its success shapes plus the error envelope per listed status. */
export function responses<Success extends Record<number, TSchema>>(success: Success, errors: number[]): Success & Record<number, TSchema> {
  const all: Success & Record<number, TSchema> = { ...success };
  for (const status of [...errors, 500]) {
    all[status] = { ...ErrorEnvelope, description: ERROR_DESCRIPTIONS[status] ?? 'Error' };
  }
  return all;
}
