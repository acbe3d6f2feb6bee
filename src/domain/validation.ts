/**
 * Input rules of SPEC §5 that a JSON schema cannot state clearly: metadata size and depth,
 * forbidden keys, content characters, pagination cursors. Pure; each failure is an AppError.
 */
import { AppError, validationError } from './errors.js';
import type { JsonObject } from './json.js';

export const METADATA_MAX_BYTES = 16_384;
export const METADATA_MAX_DEPTH = 5;
export const CONTENT_MAX_CODE_POINTS = 10_000;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/**
 * No request body of the API nests anywhere near this (metadata stops at 5 levels); a deeper one,
 * even in a field a route ignores, is refused before any code could recurse through it.
 */
export const BODY_MAX_DEPTH = 64;

export type ContentPolicy = 'standard' | 'strict';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

/** A date-time text that names a real instant (`Date.parse` gives a finite number for it). */
export const isInstant = (value: string): boolean => Number.isFinite(Date.parse(value));

/**
 * An instant to compute with or store: epoch milliseconds, finite. A NaN here would slip past
 * every comparison (`NaN > x` is false) and, stored, read as "no expiry"; it is refused instead.
 */
export function requireInstant(value: number, what: string): number {
  if (!Number.isFinite(value)) throw new RangeError(`${what} is not a valid instant`);
  return value;
}

// The walks below keep their own stack: a 64 KB body can nest some 30,000 levels deep, far past
// the call stack, and such a body must be refused with a 400, not fail with a 500.

interface Step {
  value: unknown;
  /** `.key`, `[i]`, or '' for the root; a path is built only for the key that is reported. */
  segment: string;
  parent: Step | undefined;
  /** The outer value is level 1. */
  level: number;
}

function pathOf(step: Step, prefix: string): string {
  const segments: string[] = [];
  for (let s: Step | undefined = step; s; s = s.parent) segments.push(s.segment);
  const path = prefix + segments.reverse().join('');
  return prefix === '' && path.startsWith('.') ? path.slice(1) : path;
}

export interface JsonShape {
  /** The path of the first `__proto__`/`constructor`/`prototype` key, in document order. */
  forbiddenKey: string | undefined;
  /** Nesting depth: the outer object is level 1; every object or array inside adds one. */
  depth: number;
  /** The path of the first string (or key) holding a NUL character, in document order. */
  nulAt: string | undefined;
}

/** One walk for both questions asked of every body and of metadata. */
export function inspectJson(value: unknown, path = ''): JsonShape {
  let depth = 0;
  let forbiddenKey: string | undefined;
  let nulAt: string | undefined;
  const stack: Step[] = [{ value, segment: '', parent: undefined, level: 1 }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    if (forbiddenKey === undefined && step.segment.startsWith('.') && FORBIDDEN_KEYS.has(step.segment.slice(1))) {
      forbiddenKey = pathOf(step, path);
    }
    const current = step.value;
    if (nulAt === undefined && ((typeof current === 'string' && current.includes('\0')) || step.segment.includes('\0'))) {
      nulAt = pathOf(step, path) || 'body';
    }
    if (current === null || typeof current !== 'object') continue;
    depth = Math.max(depth, step.level);
    const level = step.level + 1;
    // Pushed last-first, so keys are met in document order, each before the next one's subtree.
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], segment: `[${i}]`, parent: step, level });
    } else {
      const keys = Object.keys(current);
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ value: (current as Record<string, unknown>)[keys[i]!], segment: `.${keys[i]}`, parent: step, level });
      }
    }
  }
  return { forbiddenKey, depth, nulAt };
}

/** `null` or absent metadata means `{}`; anything else must be a small, shallow JSON object. */
export function validateMetadata(value: unknown, field = 'metadata'): JsonObject {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw validationError(`${field}: must be a JSON object`);
  }
  const { forbiddenKey, depth } = inspectJson(value);
  if (forbiddenKey) throw validationError(`${field}.${forbiddenKey}: this key is not allowed`);
  if (depth > METADATA_MAX_DEPTH) {
    throw validationError(`${field}: nested deeper than ${METADATA_MAX_DEPTH} levels`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > METADATA_MAX_BYTES) {
    throw validationError(`${field}: ${bytes} bytes, at most ${METADATA_MAX_BYTES} allowed`);
  }
  return value as JsonObject;
}

// C0 controls other than tab (09), LF (0A) and CR (0D).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// An on…= handler counts only inside a tag (`<img … onerror=`, `<svg/onload=`): plain text such
// as "online=yes" is not markup.
const ACTIVE_HTML = /<\s*script\b|<\s*iframe\b|javascript\s*:|<[a-z][^>]*[\s/"']on[a-z]+\s*=/i;

export function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Message content is inert text: checked, never transformed. */
export function validateContent(content: string, policy: ContentPolicy): void {
  if (content.trim() === '') throw validationError('content: must not be empty or only whitespace');
  if (content.length > CONTENT_MAX_CODE_POINTS && countCodePoints(content) > CONTENT_MAX_CODE_POINTS) {
    throw validationError(`content: at most ${CONTENT_MAX_CODE_POINTS} characters allowed`);
  }
  if (FORBIDDEN_CONTROL.test(content)) {
    throw validationError('content: control characters other than tab, CR and LF are not allowed');
  }
  if (LONE_SURROGATE.test(content)) throw validationError('content: contains an unpaired surrogate');
  if (policy === 'strict' && ACTIVE_HTML.test(content)) {
    throw validationError('content: active HTML is not allowed by the strict content policy');
  }
}

export function validateIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    throw validationError(`Idempotency-Key: 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters`);
  }
  return key;
}

const EPOCH_MS = /^\d{1,15}$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** V8 reads 2026-02-30 as March 2 instead of refusing it; a cursor must name a real day. */
function isCalendarDate(iso: string): boolean {
  const year = Number(iso.slice(0, 4));
  const month = Number(iso.slice(5, 7));
  const day = Number(iso.slice(8, 10));
  return day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The 400 of a bad cursor, offset or limit; `details` names the parameter. */
export const invalidPagination = (details: string): AppError =>
  new AppError('INVALID_PAGINATION', 'Invalid pagination parameters', details);

/** A history cursor: epoch milliseconds or an ISO-8601 date-time with a zone. */
export function parseCursor(value: string | undefined, name: 'before' | 'after'): number | undefined {
  if (value === undefined) return undefined;
  let ms = Number.NaN;
  if (EPOCH_MS.test(value)) ms = Number(value);
  else if (ISO_WITH_ZONE.test(value) && isCalendarDate(value)) ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw invalidPagination(`${name}: must be epoch milliseconds or an ISO-8601 date-time with a time zone`);
  }
  return ms;
}

export const HISTORY_LIMIT = { min: 1, max: 100, default: 50 } as const;

export function parseHistoryLimit(value: string | undefined): number {
  if (value === undefined) return HISTORY_LIMIT.default;
  const limit = /^\d{1,4}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= HISTORY_LIMIT.min && limit <= HISTORY_LIMIT.max)) {
    throw invalidPagination(`limit: an integer from ${HISTORY_LIMIT.min} to ${HISTORY_LIMIT.max}`);
  }
  return limit;
}
