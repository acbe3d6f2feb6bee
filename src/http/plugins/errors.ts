/**
 * Validation and the error envelope: bodies are never coerced ("30" is not a number), query
 * strings and path parameters are; whatever a route throws (or the store, or Redis) is answered
 * in the envelope of SPEC §4, 503 when PostgreSQL or Redis is away.
 */
import { AppError } from '../../domain/errors.js';
import { compileStrictText, makeAjv } from '../ajv.js';
import { envelope } from '../errors.js';
import { unencapsulated, type App } from '../types.js';
import { describeFailure } from '../unavailable.js';

export const validationAndErrors = unencapsulated('validation-and-errors', async (app: App) => {
  const bodyAjv = makeAjv({ coerceTypes: false, allErrors: true });
  const paramAjv = makeAjv({ coerceTypes: true, allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : compileStrictText(paramAjv, schema as Record<string, unknown>),
  );

  app.setErrorHandler((error, request, reply) => {
    // The store or Redis away: 503, quickly (the pool's connect and statement limits bound it).
    let appError = describeFailure(error);
    if (
      appError.code === 'VALIDATION_ERROR' &&
      request.routeOptions.config.paginationQuery &&
      (error as { validationContext?: string }).validationContext === 'querystring'
    ) {
      appError = new AppError('INVALID_PAGINATION', 'Invalid pagination parameters', appError.details);
    }
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(appError.status).send(envelope(appError));
  });
});
