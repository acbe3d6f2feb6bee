/** `npm run migrate`: apply pending schema migrations and exit. */
import { loadSettings } from './settings.js';
import { describeStore } from './app.js';
import { openStore } from './store/open.js';

const settings = loadSettings();
const store = openStore(settings.database);
try {
  const applied = await store.migrate();
  console.log(`${describeStore(settings)}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
} finally {
  await store.close();
}
