/** SPEC §8 settings: defaults, validation naming the bad setting, database URLs, flags. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  SettingsError,
  defaultPoolSize,
  flagsToSettings,
  isLoopback,
  loadSettings,
  parseDatabaseUrl,
  parseSettings,
  type Settings,
} from '../src/settings.js';

/** Runs `fn`, expecting a SettingsError naming `setting`. */
function assertSettingError(fn: () => unknown, setting: string): SettingsError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SettingsError, `expected a SettingsError, got ${String(error)}`);
    assert.equal(error.setting, setting);
    assert.equal(error.name, 'SettingsError');
    assert.ok(error.message.startsWith(`Invalid setting ${setting}: `), error.message);
    return error;
  }
  assert.fail(`expected a SettingsError naming ${setting}`);
}

const invalid = (env: Record<string, string>, setting: string) => assertSettingError(() => parseSettings(env), setting);

/**
 * The settings named by SPEC §8 and their defaults. Compared through `known` so that a setting
 * added later does not break these tests, while every one listed here is checked exactly.
 */
const KNOWN = [
  'port',
  'host',
  'database',
  'redisUrl',
  'contentPolicy',
  'apiKey',
  'sessionDefaults',
  'bounds',
  'retentionMs',
  'agentTimeoutMs',
  'agentHistoryMessages',
  'agentsDir',
  'rateLimits',
  'corsOrigins',
  'authDisabled',
  'logLevel',
] as const;

type KnownSettings = Pick<Settings, (typeof KNOWN)[number]>;

const DEFAULTS: KnownSettings = {
  port: 3000,
  host: '127.0.0.1',
  database: { kind: 'sqlite', path: './data/sessions.db' },
  redisUrl: undefined,
  contentPolicy: 'standard',
  apiKey: undefined,
  sessionDefaults: { timeoutMinutes: 30, autoRenew: true, maxDurationMinutes: 720, warningThresholdMinutes: 5 },
  bounds: {
    timeoutMinutes: { min: 5, max: 1440 },
    maxDurationMinutes: { min: 1, max: 4320 },
    warningThresholdMinutes: { min: 1, max: 60 },
  },
  retentionMs: 24 * 60 * 60_000,
  agentTimeoutMs: 60_000,
  agentHistoryMessages: 20,
  agentsDir: undefined,
  rateLimits: { sessionPerMinute: 60, userPerHour: 1000, agentPerHour: 5000, keyPerMinute: 10_000 },
  corsOrigins: [],
  authDisabled: false,
  logLevel: 'info',
};

/** The part of `settings` these tests know about. */
function known(settings: Settings): KnownSettings {
  return Object.fromEntries(KNOWN.map((key) => [key, settings[key]])) as unknown as KnownSettings;
}

describe('parseSettings defaults', () => {
  test('no settings at all: the SPEC defaults', () => {
    assert.deepEqual(known(parseSettings()), DEFAULTS);
    assert.deepEqual(known(parseSettings({})), DEFAULTS);
  });

  test('empty and blank values count as not set', () => {
    assert.deepEqual(known(parseSettings({ PORT: '', HOST: '   ', DATABASE_URL: '', LOG_LEVEL: '' })), DEFAULTS);
  });

  test('unknown variables are ignored', () => {
    assert.deepEqual(known(parseSettings({ PATH: '/usr/bin', HOME: '/root' })), DEFAULTS);
  });
});

describe('parseSettings values', () => {
  test('every setting read from its variable', () => {
    const settings = known(
      parseSettings({
        PORT: '8080',
        HOST: '0.0.0.0',
        DATABASE_URL: 'postgres://app@db:5432/sessions',
        REDIS_URL: 'redis://cache:6379',
        CONTENT_POLICY: 'strict',
        SESSIONS_API_KEY: 'secret-key',
        SESSION_DEFAULT_TIMEOUT_MINUTES: '45',
        SESSION_MIN_TIMEOUT_MINUTES: '10',
        SESSION_MAX_TIMEOUT_MINUTES: '120',
        SESSION_MAX_DURATION_MINUTES: '600',
        SESSION_WARNING_THRESHOLD_MINUTES: '3',
        SESSION_RETENTION_MINUTES: '60',
        AGENT_TIMEOUT_SECONDS: '30',
        AGENT_HISTORY_MESSAGES: '8',
        AGENTS_DIR: './agents',
        RATE_LIMIT_SESSION_PER_MINUTE: '10',
        RATE_LIMIT_USER_PER_HOUR: '100',
        RATE_LIMIT_AGENT_PER_HOUR: '200',
        RATE_LIMIT_KEY_PER_MINUTE: '300',
        CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
        LOG_LEVEL: 'debug',
        DATABASE_POOL_SIZE: '25',
        SHUTDOWN_GRACE_SECONDS: '12',
      }),
    );
    assert.deepEqual(settings, {
      port: 8080,
      host: '0.0.0.0',
      database: { kind: 'postgres', url: 'postgres://app@db:5432/sessions' },
      redisUrl: 'redis://cache:6379',
      contentPolicy: 'strict',
      apiKey: 'secret-key',
      sessionDefaults: { timeoutMinutes: 45, autoRenew: true, maxDurationMinutes: 600, warningThresholdMinutes: 3 },
      bounds: {
        timeoutMinutes: { min: 10, max: 120 },
        maxDurationMinutes: { min: 1, max: 4320 },
        warningThresholdMinutes: { min: 1, max: 60 },
      },
      retentionMs: 60 * 60_000,
      agentTimeoutMs: 30_000,
      agentHistoryMessages: 8,
      agentsDir: './agents',
      rateLimits: { sessionPerMinute: 10, userPerHour: 100, agentPerHour: 200, keyPerMinute: 300 },
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      authDisabled: false,
      logLevel: 'debug',
    } satisfies KnownSettings);
    assert.equal(parseSettings({ SHUTDOWN_GRACE_SECONDS: '12' }).shutdownGraceMs, 12_000);
  });

  test('SHUTDOWN_GRACE_SECONDS defaults to 30 s, SHUTDOWN_DELAY_SECONDS to 0; DATABASE_POOL_SIZE must be a positive integer', () => {
    assert.equal(parseSettings({}).shutdownGraceMs, 30_000);
    assert.equal(parseSettings({}).shutdownDelayMs, 0);
    assert.equal(parseSettings({ SHUTDOWN_DELAY_SECONDS: '2' }).shutdownDelayMs, 2000);
    invalid({ SHUTDOWN_DELAY_SECONDS: 'soon' }, 'SHUTDOWN_DELAY_SECONDS');
    invalid({ SHUTDOWN_GRACE_SECONDS: '-1' }, 'SHUTDOWN_GRACE_SECONDS');
    invalid({ DATABASE_URL: 'postgres://db/app', DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE');
  });

  test('values are trimmed', () => {
    const settings = parseSettings({ PORT: ' 3001 ', HOST: ' localhost ' });
    assert.equal(settings.port, 3001);
    assert.equal(settings.host, 'localhost');
  });

  test('PORT 0 (any free port) and 65535 are accepted', () => {
    assert.equal(parseSettings({ PORT: '0' }).port, 0);
    assert.equal(parseSettings({ PORT: '65535' }).port, 65535);
  });

  test('the default timeout follows narrowed bounds', () => {
    assert.equal(parseSettings({ SESSION_MIN_TIMEOUT_MINUTES: '60' }).sessionDefaults.timeoutMinutes, 60);
    assert.equal(parseSettings({ SESSION_MAX_TIMEOUT_MINUTES: '10' }).sessionDefaults.timeoutMinutes, 10);
  });

  test('later sources win over earlier ones', () => {
    const settings = parseSettings({ PORT: '1000', HOST: 'localhost' }, { PORT: '2000' }, { PORT: '3001' });
    assert.equal(settings.port, 3001);
    assert.equal(settings.host, 'localhost');
  });

  test('CORS_ORIGINS accepts * and ignores empty entries', () => {
    assert.deepEqual(parseSettings({ CORS_ORIGINS: '*' }).corsOrigins, ['*']);
    assert.deepEqual(parseSettings({ CORS_ORIGINS: 'https://a.example.com,,' }).corsOrigins, ['https://a.example.com']);
    assert.deepEqual(parseSettings({ CORS_ORIGINS: 'http://localhost:3000' }).corsOrigins, ['http://localhost:3000']);
  });

  test('REDIS_URL accepts redis:// and rediss://', () => {
    assert.equal(parseSettings({ REDIS_URL: 'redis://127.0.0.1:6379' }).redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(parseSettings({ REDIS_URL: 'rediss://u:p@cache:6380/1' }).redisUrl, 'rediss://u:p@cache:6380/1');
  });

  test('AUTH_DISABLED on a loopback host is accepted, in any boolean spelling', () => {
    for (const value of ['true', 'TRUE', '1', 'yes', 'on']) {
      assert.equal(parseSettings({ AUTH_DISABLED: value }).authDisabled, true, value);
    }
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) {
      assert.equal(parseSettings({ AUTH_DISABLED: 'true', HOST: host }).authDisabled, true, host);
    }
    assert.equal(parseSettings({ AUTH_DISABLED: 'false', HOST: '0.0.0.0' }).authDisabled, false);
  });

  test('every log level is accepted', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      assert.equal(parseSettings({ LOG_LEVEL: level }).logLevel, level);
    }
  });
});

describe('parseSettings rejects invalid settings, naming them', () => {
  test('PORT not an integer or out of range', () => {
    invalid({ PORT: 'abc' }, 'PORT');
    invalid({ PORT: '70000' }, 'PORT');
    invalid({ PORT: '65536' }, 'PORT');
    invalid({ PORT: '-1' }, 'PORT');
    invalid({ PORT: '30.5' }, 'PORT');
  });

  test('SESSION_MIN_TIMEOUT_MINUTES above SESSION_MAX_TIMEOUT_MINUTES', () => {
    const error = invalid({ SESSION_MIN_TIMEOUT_MINUTES: '100', SESSION_MAX_TIMEOUT_MINUTES: '50' }, 'SESSION_MIN_TIMEOUT_MINUTES');
    assert.match(error.message, /SESSION_MAX_TIMEOUT_MINUTES/);
  });

  test('timeout defaults outside their bounds', () => {
    invalid({ SESSION_DEFAULT_TIMEOUT_MINUTES: '4' }, 'SESSION_DEFAULT_TIMEOUT_MINUTES');
    invalid({ SESSION_DEFAULT_TIMEOUT_MINUTES: '1441' }, 'SESSION_DEFAULT_TIMEOUT_MINUTES');
    invalid({ SESSION_MAX_DURATION_MINUTES: '0' }, 'SESSION_MAX_DURATION_MINUTES');
    invalid({ SESSION_MAX_DURATION_MINUTES: '4321' }, 'SESSION_MAX_DURATION_MINUTES');
    invalid({ SESSION_WARNING_THRESHOLD_MINUTES: '61' }, 'SESSION_WARNING_THRESHOLD_MINUTES');
    invalid({ SESSION_MIN_TIMEOUT_MINUTES: '0' }, 'SESSION_MIN_TIMEOUT_MINUTES');
    invalid({ SESSION_RETENTION_MINUTES: '-5' }, 'SESSION_RETENTION_MINUTES');
  });

  test('request timeout and streams per credential (SPEC §6): defaults 30 s and 20, integers of at least 1', () => {
    const defaults = parseSettings({});
    assert.equal(defaults.requestTimeoutMs, 30_000);
    assert.equal(defaults.maxStreamsPerCredential, 20);
    const set = parseSettings({ REQUEST_TIMEOUT_SECONDS: '5', MAX_STREAMS_PER_CREDENTIAL: '3' });
    assert.equal(set.requestTimeoutMs, 5000);
    assert.equal(set.maxStreamsPerCredential, 3);
    invalid({ REQUEST_TIMEOUT_SECONDS: '0' }, 'REQUEST_TIMEOUT_SECONDS');
    invalid({ REQUEST_TIMEOUT_SECONDS: '1.5' }, 'REQUEST_TIMEOUT_SECONDS');
    invalid({ MAX_STREAMS_PER_CREDENTIAL: '0' }, 'MAX_STREAMS_PER_CREDENTIAL');
    invalid({ MAX_STREAMS_PER_CREDENTIAL: 'many' }, 'MAX_STREAMS_PER_CREDENTIAL');
  });

  test('agent and rate-limit numbers', () => {
    invalid({ AGENT_TIMEOUT_SECONDS: '0' }, 'AGENT_TIMEOUT_SECONDS');
    invalid({ AGENT_HISTORY_MESSAGES: 'many' }, 'AGENT_HISTORY_MESSAGES');
    invalid({ RATE_LIMIT_SESSION_PER_MINUTE: '0' }, 'RATE_LIMIT_SESSION_PER_MINUTE');
    invalid({ RATE_LIMIT_USER_PER_HOUR: '1e3' }, 'RATE_LIMIT_USER_PER_HOUR');
  });

  test('CONTENT_POLICY not standard or strict', () => {
    invalid({ CONTENT_POLICY: 'weird' }, 'CONTENT_POLICY');
    invalid({ CONTENT_POLICY: 'STRICT' }, 'CONTENT_POLICY');
  });

  test('LOG_LEVEL unknown', () => {
    invalid({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
  });

  test('DATABASE_URL of another database', () => {
    invalid({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL');
    invalid({ DATABASE_URL: 'http://example.com/db' }, 'DATABASE_URL');
  });

  test('REDIS_URL not a redis URL', () => {
    invalid({ REDIS_URL: 'http://x' }, 'REDIS_URL');
    invalid({ REDIS_URL: 'localhost:6379' }, 'REDIS_URL');
  });

  test('AUTH_DISABLED off loopback, or not a boolean', () => {
    invalid({ AUTH_DISABLED: 'true', HOST: '0.0.0.0' }, 'AUTH_DISABLED');
    invalid({ AUTH_DISABLED: 'true', HOST: '192.168.1.10' }, 'AUTH_DISABLED');
    invalid({ AUTH_DISABLED: 'true', HOST: '::' }, 'AUTH_DISABLED');
    invalid({ AUTH_DISABLED: 'true', HOST: 'example.com' }, 'AUTH_DISABLED');
    invalid({ AUTH_DISABLED: 'maybe' }, 'AUTH_DISABLED');
  });

  test('CORS_ORIGINS entries that are not origins', () => {
    invalid({ CORS_ORIGINS: 'notanorigin' }, 'CORS_ORIGINS');
    invalid({ CORS_ORIGINS: 'https://ok.example.com,ftp://x' }, 'CORS_ORIGINS');
    invalid({ CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS');
  });
});

describe('DATABASE_POOL_SIZE', () => {
  test('default: 4 connections per core, at least 10', () => {
    assert.equal(defaultPoolSize(1), 10);
    assert.equal(defaultPoolSize(2), 10);
    assert.equal(defaultPoolSize(3), 12);
    assert.equal(defaultPoolSize(16), 64);
    assert.equal(parseSettings({}).databasePoolSize, Math.max(10, 4 * availableParallelism()));
  });

  test('given: 1 to 1000', () => {
    assert.equal(parseSettings({ DATABASE_POOL_SIZE: '1' }).databasePoolSize, 1);
    assert.equal(parseSettings({ DATABASE_POOL_SIZE: ' 25 ' }).databasePoolSize, 25);
    assert.equal(parseSettings({ DATABASE_POOL_SIZE: '1000' }).databasePoolSize, 1000);
    for (const bad of ['0', '-1', '1001', '2.5', 'ten']) invalid({ DATABASE_POOL_SIZE: bad }, 'DATABASE_POOL_SIZE');
  });
});

describe('parseDatabaseUrl', () => {
  test('absent: the default SQLite file', () => {
    assert.deepEqual(parseDatabaseUrl(undefined), { kind: 'sqlite', path: './data/sessions.db' });
  });

  test('a plain file path is SQLite', () => {
    assert.deepEqual(parseDatabaseUrl('./data/other.db'), { kind: 'sqlite', path: './data/other.db' });
    assert.deepEqual(parseDatabaseUrl('/var/lib/sessions.db'), { kind: 'sqlite', path: '/var/lib/sessions.db' });
  });

  test('postgres:// and postgresql:// are PostgreSQL, kept whole', () => {
    assert.deepEqual(parseDatabaseUrl('postgres://u:p@db:5432/app?sslmode=require'), {
      kind: 'postgres',
      url: 'postgres://u:p@db:5432/app?sslmode=require',
    });
    assert.deepEqual(parseDatabaseUrl('postgresql://db/app'), { kind: 'postgres', url: 'postgresql://db/app' });
    assert.deepEqual(parseDatabaseUrl('POSTGRES://db/app'), { kind: 'postgres', url: 'POSTGRES://db/app' });
  });

  test('sqlite: and file: URLs are SQLite files', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite:./data/x.db'), { kind: 'sqlite', path: './data/x.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite:///var/x.db'), { kind: 'sqlite', path: '/var/x.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite://relative.db'), { kind: 'sqlite', path: 'relative.db' });
    assert.deepEqual(parseDatabaseUrl('file:/tmp/x.db'), { kind: 'sqlite', path: '/tmp/x.db' });
    assert.deepEqual(parseDatabaseUrl('file:///tmp/x.db'), { kind: 'sqlite', path: '/tmp/x.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { kind: 'sqlite', path: ':memory:' });
  });

  test('other schemes and empty SQLite paths are rejected, naming DATABASE_URL', () => {
    for (const url of ['mysql://x', 'redis://x', 'https://x/db', 'sqlite:', 'file://']) {
      assertSettingError(() => parseDatabaseUrl(url), 'DATABASE_URL');
    }
  });
});

describe('flagsToSettings', () => {
  test('--port 3001 and --port=3001', () => {
    assert.deepEqual(flagsToSettings(['--port', '3001']), { PORT: '3001' });
    assert.deepEqual(flagsToSettings(['--port=3001']), { PORT: '3001' });
  });

  test('a flag without a value is true', () => {
    assert.deepEqual(flagsToSettings(['--auth-disabled']), { AUTH_DISABLED: 'true' });
    assert.deepEqual(flagsToSettings(['--auth-disabled', '--port', '3001']), { AUTH_DISABLED: 'true', PORT: '3001' });
  });

  test('dashes become underscores, names upper case', () => {
    assert.deepEqual(flagsToSettings(['--session-default-timeout-minutes', '45', '--log-level=warn']), {
      SESSION_DEFAULT_TIMEOUT_MINUTES: '45',
      LOG_LEVEL: 'warn',
    });
  });

  test('an inline value is split at the first = only', () => {
    assert.deepEqual(flagsToSettings(['--database-url=postgres://u@h/db?a=b=c']), {
      DATABASE_URL: 'postgres://u@h/db?a=b=c',
    });
    assert.deepEqual(flagsToSettings(['--cors-origins=']), { CORS_ORIGINS: '' });
  });

  test('no flags: nothing', () => {
    assert.deepEqual(flagsToSettings([]), {});
  });

  test('a bare word is an error naming it', () => {
    assertSettingError(() => flagsToSettings(['port', '3001']), 'port');
  });

  test('flags feed parseSettings', () => {
    const settings = parseSettings({ PORT: '2000' }, flagsToSettings(['--port=3001', '--auth-disabled']));
    assert.equal(settings.port, 3001);
    assert.equal(settings.authDisabled, true);
  });
});

describe('loadSettings', () => {
  test('.env < environment < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-sessions-settings-'));
    try {
      const dotenv = join(dir, '.env');
      writeFileSync(dotenv, 'PORT=1111\nHOST=localhost\nLOG_LEVEL=warn\nAGENTS_DIR=./from-dotenv\n');
      const settings = loadSettings(['--port', '3333'], { PORT: '2222', LOG_LEVEL: 'error' }, dotenv);
      assert.equal(settings.port, 3333);
      assert.equal(settings.logLevel, 'error');
      assert.equal(settings.host, 'localhost');
      assert.equal(settings.agentsDir, './from-dotenv');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing .env file is fine', () => {
    assert.deepEqual(known(loadSettings([], {}, join(tmpdir(), 'no-such-dir-agent-sessions', '.env'))), DEFAULTS);
  });
});

describe('isLoopback', () => {
  test('loopback hosts', () => {
    for (const host of ['localhost', '127.0.0.1', '127.255.255.254', '::1', '[::1]']) assert.equal(isLoopback(host), true, host);
  });

  test('everything else', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.example.com']) {
      assert.equal(isLoopback(host), false, host);
    }
  });
});
