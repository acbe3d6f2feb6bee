/**
 * Request bodies: JSON only, UTF-8 only, always an object. An empty body is no body (renew,
 * heartbeat and DELETE clients send the header anyway); prototype-polluting keys, NULs and
 * excessive nesting are refused anywhere in the document. Every other media type is 415.
 */
import { AppError, validationError } from '../../domain/errors.js';
import { BODY_MAX_DEPTH, inspectJson } from '../../domain/validation.js';
import { unencapsulated, type App } from '../types.js';

/** The largest request body accepted (413 beyond). */
export const BODY_LIMIT_BYTES = 65_536;

/** Decodes request bodies; throws on any byte sequence that is not UTF-8. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The `charset` parameter of a Content-Type header, lower case and unquoted; undefined if none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? '');
  return match ? match[2]!.toLowerCase() : undefined;
}

/** Parses a JSON body as SPEC §5 wants it; throws the AppError to answer with. */
function parseJsonBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  // JSON is UTF-8 (RFC 8259): another declared charset is refused, not guessed at.
  const charset = charsetOf(contentType);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be application/json', `charset ${charset} is not supported: use utf-8`);
  }
  let text: string;
  try {
    text = strictUtf8.decode(raw);
  } catch {
    // Bytes that are not UTF-8 would otherwise become U+FFFD and be stored as a different text.
    throw validationError('The request body is not valid UTF-8');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError('INVALID_JSON', 'Request body is not valid JSON');
  }
  // Every body of this API is an object; the routes that take none (renew, heartbeat, DELETE)
  // must not act on `[]` or `"x"` either.
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw validationError('The request body must be a JSON object');
  const { forbiddenKey, depth, nulAt } = inspectJson(body);
  // No text of the API may hold a NUL (PostgreSQL cannot store one; SPEC §5 refuses it in content).
  if (nulAt) throw validationError(`${nulAt}: the NUL character is not allowed`);
  if (forbiddenKey) throw validationError(`${forbiddenKey}: this key is not allowed`);
  if (depth > BODY_MAX_DEPTH) throw validationError(`The body nests deeper than ${BODY_MAX_DEPTH} levels`);
  return body;
}

export const bodyParsing = unencapsulated('body-parsing', async (app: App) => {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    let body: unknown;
    try {
      body = parseJsonBody(raw as Buffer, request.headers['content-type']);
    } catch (error) {
      return done(error as AppError, undefined);
    }
    done(null, body);
  });
  // Every other type is refused (415), text/plain included: Fastify would otherwise hand a
  // text body to the routes as a string. An empty body of any type is still no body.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') return done(null, undefined);
    done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be application/json'), undefined);
  });
});
