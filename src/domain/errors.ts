/**
 * The closed set of error codes of the API (SPEC §4 "Errors") and the HTTP status each maps to.
 * Every failure the server reports is an AppError; the HTTP layer turns it into the envelope
 * `{success:false, error:{code, message, details?, ...extra}}` in exactly one place.
 */
export const ERROR_STATUS = {
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
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Every error code, in the order of the table above: the closed enum of the OpenAPI document. */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** Fields that may sit beside `code` in the envelope's `error` object. */
export type ErrorExtra = Record<string, string | number | boolean | null>;

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: string,
    readonly extra?: ErrorExtra,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const validationError = (details: string, message = 'Invalid request'): AppError =>
  new AppError('VALIDATION_ERROR', message, details);

export const sessionNotFound = (sessionId: string): AppError =>
  new AppError('SESSION_NOT_FOUND', 'Session not found', undefined, { sessionId });

export const sessionExpired = (sessionId: string, expiresAt: number): AppError =>
  new AppError('SESSION_EXPIRED', 'Session has expired', undefined, {
    sessionId,
    expiresAt: new Date(expiresAt).toISOString(),
  });

export const agentNotFound = (agentId: string): AppError => new AppError('AGENT_NOT_FOUND', 'Agent not found', undefined, { agentId });
