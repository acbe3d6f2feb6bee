/** `npm start`: read the settings, start the server, stop cleanly on SIGINT/SIGTERM. */
import { createApp, describeAgent, describeStore } from './app.js';
import { loadSettings, SettingsError, type Settings } from './settings.js';

async function main(): Promise<void> {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(`agent-sessions: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }

  const app = await createApp(settings);
  // Installed before listening, so a signal during start-up still shuts down cleanly.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.server.log.info(`${signal} received, shutting down`);
    // Not ready at once; still serving until the load balancer has noticed (SHUTDOWN_DELAY_SECONDS).
    app.lifecycle.stopping = true;
    if (settings.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, settings.shutdownDelayMs));
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const address = await app.listen();
  const agents = await app.agents.list();
  const banner = [
    `agent-sessions listening on ${address}`,
    `  store:  ${describeStore(settings)}`,
    `  agents: ${agents.length === 0 ? '(none)' : agents.map(describeAgent).join('\n          ')}`,
    `  docs:   ${address}/docs`,
  ];
  if (settings.authDisabled) banner.push('  auth:   DISABLED (loopback only): every request is allowed');
  if (app.generatedAdminKey) {
    // Straight to the terminal, never through the logger: log pipelines keep what they get.
    banner.push(
      '',
      '  No API key was configured or stored, so an admin key (scope *) was created.',
      '  It is shown this once; store it now. Create narrower keys with POST /api/keys.',
      `  admin key: ${app.generatedAdminKey}`,
      '',
    );
  }
  // One write, so that whoever reads the output (a supervisor, a test) gets the banner whole.
  console.log(banner.join('\n'));
}

main().catch((error: unknown) => {
  console.error('agent-sessions failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
