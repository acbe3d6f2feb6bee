/**
 * Full-text search rules (SPEC §12). A message matches when its content contains every word of
 * the query, case-insensitively. Words are runs of letters and digits in any script (combining
 * marks stay with the letter they modify, so Devanagari or Thai words are not cut apart).
 * "Contains" means as a substring of the folded text: scripts written without spaces (Chinese,
 * Japanese, Thai) have no word boundaries to match on, and "order" finds "orders" too.
 *
 * Both stores index the folded text (`foldForSearch`), computed here once for every message, so
 * that case-insensitivity is the same everywhere, whatever the database's locale: SQLite FTS5
 * with the trigram tokenizer, PostgreSQL pg_trgm GIN. Words shorter than three characters have no
 * trigram: they are checked on the rows the longer words found (or on every row in scope when
 * the query has no longer word).
 */
import { validationError } from './errors.js';

export const SEARCH_QUERY_MAX = 200;
export const SEARCH_LIMIT = { min: 1, max: 100, default: 20 } as const;
/** Trigram indexes find words of at least this many characters. */
export const INDEXED_WORD_MIN = 3;
/** At most this many words of a query are used (200 characters hold at most 100 words). */
const MAX_WORDS = 32;

const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

/** The text a message is searched by: Unicode-normalised (NFKC), lower case. */
export function foldForSearch(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** The distinct folded words of a query, longest first (the most selective drive the index). */
export function searchWords(q: string): string[] {
  const words = new Set<string>();
  for (const match of foldForSearch(q).matchAll(WORD)) words.add(match[0]);
  // A word that another word contains adds nothing.
  const all = [...words].sort((a, b) => [...b].length - [...a].length || (a < b ? -1 : a > b ? 1 : 0));
  const kept = all.filter((w, i) => !all.slice(0, i).some((longer) => longer.includes(w)));
  return kept.slice(0, MAX_WORDS);
}

/** Validates `q` (1–200 characters, at least one word) and returns its words. */
export function parseSearchQuery(q: string | undefined): string[] {
  if (q === undefined || q.length === 0 || [...q].length > SEARCH_QUERY_MAX) {
    throw validationError(`q: 1 to ${SEARCH_QUERY_MAX} characters`);
  }
  const words = searchWords(q);
  if (words.length === 0) throw validationError('q: must contain at least one letter or digit');
  return words;
}
