/**
 * A process that starts the application on the SQLite file at argv[2] when told to ("go" on
 * stdin), so that a test can make several processes do a first start on one new file at the
 * same moment. Prints `{"generatedKey": true|false}`, or `failed: <message>`.
 */
import { createApp } from '../../src/app.js';
import { parseSettings } from '../../src/settings.js';

const path = process.argv[2]!;
process.stdout.write('ready\n');
process.stdin.once('data', () => void start());

async function start(): Promise<void> {
  try {
    const app = await createApp(parseSettings({ DATABASE_URL: path, PORT: '0', LOG_LEVEL: 'silent' }), { background: false });
    await app.close();
    process.stdout.write(`${JSON.stringify({ generatedKey: app.generatedAdminKey !== undefined })}\n`);
  } catch (error) {
    process.stdout.write(`failed: ${(error as Error).message}\n`);
  }
  process.exit(0);
}
