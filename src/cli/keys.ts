/**
 * `npm run keys -- <command>`: API keys from the command line, against the database the server
 * uses (DATABASE_URL, .env). The way to get a first key without starting the server, or a new
 * one after losing the last.
 *
 *   create --name <name> --scopes <scope,scope> [--expires-at <ISO-8601>]
 *   list
 *   revoke <id>
 *
 * `create` prints the key alone on stdout (so `KEY=$(npm run -s keys -- create …)` works) and
 * its description on stderr. The key is not stored and cannot be shown again.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiKeys, toKeyView } from '../auth/keys.js';
import { SCOPES } from '../auth/scopes.js';
import { systemClock } from '../clock.js';
import { AppError } from '../domain/errors.js';
import { loadSettings, SettingsError } from '../settings.js';
import { openStore } from '../store/open.js';

const USAGE = `usage: npm run keys -- <command>
  create --name <name> --scopes <scope,scope,...> [--expires-at <ISO-8601 date-time>]
  list
  revoke <id>
scopes: ${SCOPES.join(', ')}`;

class UsageError extends Error {}

function parseFlags(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new UsageError(`unexpected argument "${arg}"`);
    const value = match[2] ?? args[++i];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    flags.set(match[1]!, value);
  }
  return flags;
}

type Output = Pick<NodeJS.WritableStream, 'write'>;

export async function run(argv: string[], out: Output = process.stdout, err: Output = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    err.write(`${USAGE}\n`);
    return command === undefined ? 64 : 0;
  }
  let settings;
  try {
    settings = loadSettings([], process.env);
  } catch (error) {
    if (error instanceof SettingsError) {
      err.write(`agent-sessions keys: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const store = openStore(settings.database);
  try {
    await store.migrate();
    const keys = new ApiKeys(store, systemClock);
    switch (command) {
      case 'create': {
        const flags = parseFlags(rest);
        for (const name of flags.keys()) {
          if (!['name', 'scopes', 'expires-at'].includes(name)) throw new UsageError(`unknown flag --${name}`);
        }
        const name = flags.get('name');
        const scopes = flags.get('scopes');
        if (!name || !scopes) throw new UsageError('create needs --name and --scopes');
        const expiresRaw = flags.get('expires-at');
        const expiresAt = expiresRaw === undefined ? null : Date.parse(expiresRaw);
        if (Number.isNaN(expiresAt)) throw new UsageError(`--expires-at "${expiresRaw}" is not a date-time`);
        const created = await keys.create({
          name,
          scopes: scopes
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          expiresAt,
        });
        const view = toKeyView(created.record);
        err.write(
          `created API key ${view.id} "${view.name}" scopes ${view.scopes.join(',')}` +
            `${view.expiresAt ? ` expires ${view.expiresAt}` : ''}\n` +
            'The key (on stdout) is shown this once: it is not stored and cannot be shown again.\n',
        );
        out.write(`${created.key}\n`);
        return 0;
      }
      case 'list': {
        if (rest.length > 0) throw new UsageError('list takes no arguments');
        for (const k of (await keys.list()).map(toKeyView)) {
          out.write(
            [
              k.id,
              k.prefix + '…',
              k.name,
              k.scopes.join(','),
              `created ${k.createdAt}`,
              `expires ${k.expiresAt ?? 'never'}`,
              `last used ${k.lastUsedAt ?? 'never'}`,
            ].join('  ') + '\n',
          );
        }
        return 0;
      }
      case 'revoke': {
        if (rest.length !== 1) throw new UsageError('revoke takes one key id');
        await keys.revoke(rest[0]!);
        err.write(`revoked API key ${rest[0]}\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err.write(`agent-sessions keys: ${error.message}\n${USAGE}\n`);
      return 64;
    }
    if (error instanceof AppError) {
      err.write(`agent-sessions keys: ${error.message}${error.details ? ` (${error.details})` : ''}\n`);
      return 1;
    }
    throw error;
  } finally {
    await store.close();
  }
}

// Run only as a program, not when a test imports `run`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error('agent-sessions keys failed:', error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
