/**
 * The list's metadata filters (SPEC §12): `metadata.<key>=<value>`, repeatable, all must hold.
 * A session matches when its top-level metadata `key` has that value: a string as is, a number
 * or a boolean by its JSON text (`metadata.tier=3` matches `{"tier":3}` and `{"tier":"3"}`).
 */
import { validationError } from './errors.js';

const METADATA_PARAM_PREFIX = 'metadata.';
const METADATA_KEY = /^[A-Za-z0-9_-]{1,64}$/;
/** More filters than this would only make a slow query; a request may carry up to 16. */
const METADATA_FILTERS_MAX = 16;
/** Longer than any value that fits in 16 KiB of metadata is pointless; this bounds the query. */
const METADATA_VALUE_MAX = 4096;

export interface MetadataFilter {
  key: string;
  value: string;
}

/** The `metadata.<key>` parameters of a query string, validated, in a stable order. */
export function parseMetadataFilters(query: Record<string, unknown>): MetadataFilter[] {
  const filters: MetadataFilter[] = [];
  for (const [name, raw] of Object.entries(query)) {
    if (!name.startsWith(METADATA_PARAM_PREFIX)) continue;
    const key = name.slice(METADATA_PARAM_PREFIX.length);
    if (!METADATA_KEY.test(key)) {
      throw validationError(`${name}: the key must be 1 to 64 characters of A-Z a-z 0-9 _ -`);
    }
    for (const value of [raw].flat()) {
      if (typeof value !== 'string') throw validationError(`${name}: must be a string`);
      // No stored metadata string holds NUL (PostgreSQL text cannot), and none is this long.
      if (value.includes('\u0000') || value.length > METADATA_VALUE_MAX) {
        throw validationError(`${name}: at most ${METADATA_VALUE_MAX} characters, no NUL`);
      }
      filters.push({ key, value });
    }
  }
  if (filters.length > METADATA_FILTERS_MAX) {
    throw validationError(`metadata.<key>: at most ${METADATA_FILTERS_MAX} filters`);
  }
  return filters;
}

/**
 * What a stored value must be to match `value`: that string; or, when `value` is the JSON text
 * of a boolean or of a number (as the server writes numbers: `3`, `0.5`, `1e+21`, never `3.0`),
 * that boolean or number.
 */
export function filterTargets(value: string): { string: string; boolean?: boolean; number?: number } {
  if (value === 'true' || value === 'false') return { string: value, boolean: value === 'true' };
  if (JSON_NUMBER.test(value)) {
    const number = Number(value);
    if (Number.isFinite(number) && JSON.stringify(number) === value) return { string: value, number };
  }
  return { string: value };
}

const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
