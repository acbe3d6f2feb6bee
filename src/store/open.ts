import type { DatabaseSettings } from '../settings.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export function openStore(database: DatabaseSettings, poolSize?: number): Store {
  return database.kind === 'postgres' ? openPostgresStore(database.url, poolSize) : openSqliteStore(database.path);
}
