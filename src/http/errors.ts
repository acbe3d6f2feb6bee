/**
 * The one place where any failure becomes the error envelope of SPEC §4:
 * `{success:false, error:{code, message, details?, ...}}`. Unknown failures become a plain
 * 500 INTERNAL_ERROR; no stack trace or internal message ever reaches a client.
 */
import type { FastifyError } from 'fastify';
import { AppError, type ErrorCode } from '../domain/errors.js';
import { METADATA_KEYWORD } from './ajv.js';
import { BODY_LIMIT_BYTES } from './plugins/body.js';

export interface ErrorBody {
  success: false;
  error: { code: ErrorCode; message: string; details?: string; [extra: string]: unknown };
}

export function envelope(error: AppError): ErrorBody {
  const body: ErrorBody = { success: false, error: { code: error.code, message: error.message } };
  if (error.details !== undefined) body.error.details = error.details;
  if (error.extra) Object.assign(body.error, error.extra);
  return body;
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Names the field at fault: `timeoutConfig.timeoutMinutes: must be <= 1440`. */
export function describeValidation(issues: AjvIssue[], context: string | undefined): string {
  const described = new Set<string>();
  for (const issue of issues) {
    if (issue.keyword === 'oneOf' || issue.keyword === 'anyOf' || issue.keyword === 'if') continue;
    const path = issue.instancePath.split('/').filter(Boolean).join('.');
    const field = (name: unknown) => (path ? `${path}.${String(name)}` : String(name));
    // The metadata keyword's message already names the field.
    if (issue.keyword === METADATA_KEYWORD && issue.message) described.add(issue.message);
    else if (issue.keyword === 'required') described.add(`${field(issue.params.missingProperty)}: is required`);
    else if (issue.keyword === 'additionalProperties') described.add(`${field(issue.params.additionalProperty)}: is not a known field`);
    else described.add(`${path || context || 'body'}: ${issue.message ?? 'is invalid'}`);
  }
  return [...described].join('; ') || 'the request is invalid';
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_ERROR',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_ERROR',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  PAYLOAD_TOO_LARGE: `Request body is larger than ${BODY_LIMIT_BYTES} bytes`,
  UNSUPPORTED_MEDIA_TYPE: 'Request body must be application/json',
  INVALID_JSON: 'Request body is not valid JSON',
};

/**
 * Failures that carry only an HTTP status (from Fastify's plugins, e.g. @fastify/static), where
 * the status names one code. Any other client error is a plain VALIDATION_ERROR.
 */
const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** Maps anything thrown while handling a request to an AppError. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as Partial<FastifyError> & { validation?: AjvIssue[] };
  if (Array.isArray(fastifyError.validation)) {
    return new AppError('VALIDATION_ERROR', 'Invalid request', describeValidation(fastifyError.validation, fastifyError.validationContext));
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, MESSAGES[mapped] ?? 'Invalid request');
  const status = fastifyError.statusCode;
  if (status === 404) return new AppError('NOT_FOUND', 'Not found');
  if (status !== undefined && status >= 400 && status < 500)
    return new AppError(STATUS_CODES[status] ?? 'VALIDATION_ERROR', 'Invalid request');
  return new AppError('INTERNAL_ERROR', 'Internal server error');
}

/**
 * Router failures that happen before any route runs. A parameter whose %-encoding is broken
 * names no resource: below one of `malformedIds`' prefixes it is a malformed id of that resource
 * (404 with its code, SPEC §4), elsewhere an unknown path.
 */
export function frameworkError(
  error: { code?: string },
  url: string,
  malformedIds: ReadonlyArray<readonly [prefix: string, notFound: () => AppError]>,
): AppError {
  if (error.code !== 'FST_ERR_BAD_URL' && error.code !== 'FST_ERR_MAX_PARAM_LENGTH') {
    return new AppError('INTERNAL_ERROR', 'Internal server error');
  }
  const path = url.split('?')[0]!;
  const resource = malformedIds.find(([prefix]) => path.startsWith(prefix));
  return resource ? resource[1]() : new AppError('NOT_FOUND', `No route for ${path}`);
}

/**
 * Rejections Node's HTTP parser makes before any route runs (a request that took too long to
 * arrive, headers over Node's limit, broken framing such as both Content-Length and
 * Transfer-Encoding): the status and the envelope to answer with. 431 has no code of its own in
 * the SPEC's table; it is reported as PAYLOAD_TOO_LARGE (what was sent is too large).
 */
export function clientErrorAnswer(error: { code?: string }): { status: number; reason: string; body: ErrorBody } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const appError = new AppError(
      'REQUEST_TIMEOUT',
      'The request did not arrive in time',
      'Headers and body must arrive within the request timeout',
    );
    return { status: 408, reason: 'Request Timeout', body: envelope(appError) };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const appError = new AppError('PAYLOAD_TOO_LARGE', 'Request headers are too large');
    return { status: 431, reason: 'Request Header Fields Too Large', body: envelope(appError) };
  }
  const appError = new AppError('VALIDATION_ERROR', 'Malformed HTTP request', 'The request is not valid HTTP/1.1');
  return { status: 400, reason: 'Bad Request', body: envelope(appError) };
}
