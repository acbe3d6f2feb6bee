import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { AppError } from '../domain/errors.js';
import { isInstant, isUuid, validateMetadata } from '../domain/validation.js';

/**
 * The keyword of a metadata field (schemas.ts `MetadataInput`): SPEC §5's rules of
 * domain/validation.ts (size, depth, keys), so that a schema declaring metadata enforces them.
 * Its message names the field itself.
 */
export const METADATA_KEYWORD = 'x-metadata';

const rfc3339 = fullFormats['date-time'] as { validate: (value: string) => boolean };

/** An Ajv instance as the server uses it: formats on, unknown keys kept (so they are refused). */
export function makeAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, discriminator: true, strict: false, ...options });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  // ajv-formats' uuid also takes `urn:uuid:…`; the API's ids are the bare 36 characters, the
  // same rule the rest of the code applies (a prefixed user id would count as another user).
  ajv.addFormat('uuid', { type: 'string', validate: isUuid });
  // RFC 3339 allows a leap second (`23:59:60Z`), which no clock of this server can name:
  // `Date.parse` gives NaN for it. A date the API accepts is one it can compute with.
  ajv.addFormat('date-time', { type: 'string', validate: (value: string) => rfc3339.validate(value) && isInstant(value) });
  const checkMetadata = (_schema: unknown, data: unknown, _parent: unknown, context?: { instancePath: string }): boolean => {
    const field = (context?.instancePath ?? '').split('/').filter(Boolean).join('.') || 'metadata';
    try {
      validateMetadata(data, field);
      return true;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      checkMetadata.errors = [{ keyword: METADATA_KEYWORD, message: error.details ?? error.message, params: {} }];
      return false;
    }
  };
  checkMetadata.errors = [] as Array<{ keyword: string; message: string; params: Record<string, unknown> }>;
  ajv.addKeyword({ keyword: METADATA_KEYWORD, schemaType: 'boolean', errors: true, validate: checkMetadata });
  return ajv;
}

interface Issue {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string;
}

/** Decimal digits only, optionally negative: what an integer query parameter may be written as. */
const PLAIN_INTEGER = /^-?\d{1,16}$/;
const PLAIN_NUMBER = /^-?\d{1,16}(?:\.\d{1,16})?$/;

type Property = { type?: unknown };

/**
 * Query strings, path parameters and headers are text, coerced by Ajv to the schema's types. Ajv
 * coerces as `Number()` does, so `0x10`, `+5`, `1e1`, ` 5` and `1e20` would all pass as numbers,
 * and `1`/`0`/`""` as booleans. The API never guesses (SPEC §5): a number is written in plain
 * decimal digits and a boolean as `true` or `false`; anything else is refused here, before Ajv
 * coerces, with the field named.
 */
export function compileStrictText(ajv: Ajv, schema: Record<string, unknown>): ValidateFunction {
  const validate = ajv.compile(schema);
  const properties = (schema.properties ?? {}) as Record<string, Property>;
  const typed = Object.entries(properties).filter(([, p]) => p.type === 'integer' || p.type === 'number' || p.type === 'boolean');
  if (typed.length === 0) return validate;
  const strict = ((data: unknown) => {
    const record = (data ?? {}) as Record<string, unknown>;
    const issues: Issue[] = [];
    for (const [name, property] of typed) {
      const value = record[name];
      if (typeof value !== 'string') continue;
      const ok =
        property.type === 'integer'
          ? PLAIN_INTEGER.test(value)
          : property.type === 'number'
            ? PLAIN_NUMBER.test(value)
            : value === 'true' || value === 'false';
      if (!ok) {
        const expected =
          property.type === 'boolean'
            ? 'true or false'
            : `${property.type === 'integer' ? 'an integer' : 'a number'} in plain decimal digits`;
        issues.push({
          instancePath: `/${name}`,
          schemaPath: `#/properties/${name}/type`,
          keyword: 'type',
          params: { type: property.type },
          message: `must be ${expected}`,
        });
      }
    }
    if (issues.length > 0) {
      strict.errors = issues;
      return false;
    }
    const result = validate(data);
    strict.errors = validate.errors;
    return result;
  }) as ValidateFunction;
  strict.errors = null;
  return strict;
}
