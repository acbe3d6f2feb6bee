/**
 * API key management: create (the only moment the key exists in clear), list, revoke, and the
 * admin key made at first start. Shared by /api/keys and `npm run keys`.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AppError, validationError } from '../domain/errors.js';
import { isUuid } from '../domain/validation.js';
import type { ApiKeyRecord, Store } from '../store/store.js';
import { displayPrefix, generateApiKey, hashSecret } from './credentials.js';
import { isScope, type Scope } from './scopes.js';

/** The first-start admin key has a fixed id, so that instances starting together make one. */
export const FIRST_KEY_ID = '00000000-0000-4000-8000-0000000000ad';
export const NAME_MAX_LENGTH = 100;

export interface NewKey {
  name: string;
  scopes: string[];
  /** Epoch ms; null or absent for a key that never expires. */
  expiresAt?: number | null;
}

export interface CreatedKey {
  record: ApiKeyRecord;
  /** The secret: shown once, never stored. */
  key: string;
}

/** The public view of a stored key (SPEC §4, GET /api/keys). */
export const toKeyView = (k: ApiKeyRecord) => ({
  id: k.id,
  name: k.name,
  scopes: k.scopes,
  prefix: k.prefix,
  createdAt: new Date(k.createdAt).toISOString(),
  expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
  lastUsedAt: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString(),
});

export class ApiKeys {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async create(input: NewKey): Promise<CreatedKey> {
    const { record, key } = this.prepare(randomUUID(), input);
    await this.store.insertApiKey(record);
    return { record, key };
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.store.listApiKeys();
  }

  async revoke(id: string): Promise<void> {
    // Key ids are UUIDs: anything else names no key (and never reaches the store as a query).
    if (!isUuid(id) || !(await this.store.deleteApiKey(id))) throw new AppError('NOT_FOUND', 'API key not found', undefined, { keyId: id });
  }

  /** Creates the admin key (scope `*`) when no key is stored at all; returns it, once. */
  async createFirstAdminKey(): Promise<string | undefined> {
    const { record, key } = this.prepare(FIRST_KEY_ID, { name: 'admin', scopes: ['*'] });
    return (await this.store.insertFirstApiKey(record)) ? key : undefined;
  }

  private prepare(id: string, input: NewKey): CreatedKey {
    const name = input.name.trim();
    if (name.length === 0 || name.length > NAME_MAX_LENGTH) throw validationError(`name: must be 1–${NAME_MAX_LENGTH} characters`);
    if (input.scopes.length === 0) throw validationError('scopes: at least one scope is required');
    const unknown = input.scopes.filter((s) => !isScope(s));
    if (unknown.length > 0) throw validationError(`scopes: unknown scope ${unknown.join(', ')}`);
    const now = this.clock.now();
    const expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && expiresAt <= now) throw validationError('expiresAt: must be in the future');
    const key = generateApiKey();
    const record: ApiKeyRecord = {
      id,
      name,
      scopes: [...new Set(input.scopes as Scope[])],
      keyHash: hashSecret(key),
      prefix: displayPrefix(key),
      createdAt: now,
      expiresAt,
      lastUsedAt: null,
    };
    return { record, key };
  }
}
