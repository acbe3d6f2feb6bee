import type { DatabaseSettings } from '../settings.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export function openStore(database: DatabaseSettings): Store {
  return database.kind === 'postgres' ? openPostgresStore(database.url, database.poolSize) : openSqliteStore(database.path);
}
