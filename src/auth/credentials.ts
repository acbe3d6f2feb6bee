/**
 * Secrets: API keys and session tokens. Both are 256 random bits behind a fixed prefix, so a
 * leaked one is easy to recognise (and for secret scanners to flag) and the two kinds are told
 * apart without a lookup. Only SHA-256 digests are stored: the secrets are random, so a slow
 * password hash would add cost without adding safety.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const API_KEY_PREFIX = 'ask_';
const SESSION_TOKEN_PREFIX = 'ast_';
/** How much of a key is kept in clear to tell keys apart in listings: the prefix + 8 characters. */
const DISPLAY_LENGTH = API_KEY_PREFIX.length + 8;

const secret = (prefix: string): string => prefix + randomBytes(32).toString('base64url');

export const generateApiKey = (): string => secret(API_KEY_PREFIX);
export const generateSessionToken = (): string => secret(SESSION_TOKEN_PREFIX);

export const isSessionToken = (token: string): boolean => token.startsWith(SESSION_TOKEN_PREFIX);

/** SHA-256 in hex. */
const DIGEST_HEX_LENGTH = 64;

/** The digest stored in place of a secret (hex). */
export const hashSecret = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/** The leading characters shown by `GET /api/keys`; far too short to be the key. */
export const displayPrefix = (key: string): string => key.slice(0, DISPLAY_LENGTH);

/**
 * Compares two digests (hex SHA-256, as `hashSecret` gives them) without an early exit on the
 * first differing byte. Digests have a fixed length, so the length check reveals nothing; any
 * other input is simply unequal.
 */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== DIGEST_HEX_LENGTH || b.length !== DIGEST_HEX_LENGTH) return false;
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}
