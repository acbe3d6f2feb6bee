/**
 * Keyset cursors (SPEC §12): the list's `nextCursor` and the search's. A cursor names the last
 * row of a page by its position in the newest-first order, `(createdAt, id)`, so the next page
 * starts right after it whatever was inserted meanwhile, and costs one index seek however deep.
 *
 * The text is opaque to clients: base64url of `<kind>.<createdAt>.<id>`. Only the exact text the
 * server would issue is accepted (kind, a canonical integer, a lower-case UUID, canonical
 * base64url); anything else is 400 INVALID_PAGINATION. A cursor only says where to resume, so a
 * hand-made one that passes these checks can show nothing its holder could not list anyway.
 */
import { invalidPagination } from './validation.js';

export interface Keyset {
  createdAt: number;
  id: string;
}

/** `s`: a page of sessions; `m`: a page of search results (messages). */
export type CursorKind = 's' | 'm';

const UUID_LOWER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CANONICAL_INT = /^(0|[1-9][0-9]{0,15})$/;
const BASE64URL = /^[A-Za-z0-9_-]{1,200}$/;

export function encodeCursor(kind: CursorKind, at: Keyset): string {
  return Buffer.from(`${kind}.${at.createdAt}.${at.id}`, 'utf8').toString('base64url');
}

const invalid = () => invalidPagination('cursor: not a cursor this server issued');

export function decodeCursor(kind: CursorKind, text: string): Keyset {
  if (!BASE64URL.test(text)) throw invalid();
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  // Canonical form only: the same bytes must encode back to the same text.
  if (Buffer.from(decoded, 'utf8').toString('base64url') !== text) throw invalid();
  const parts = decoded.split('.');
  if (parts.length !== 3 || parts[0] !== kind) throw invalid();
  const [, at, id] = parts as [string, string, string];
  if (!CANONICAL_INT.test(at) || !UUID_LOWER.test(id)) throw invalid();
  const createdAt = Number(at);
  if (!Number.isSafeInteger(createdAt)) throw invalid();
  return { createdAt, id };
}
