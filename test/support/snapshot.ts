/**
 * What a refused request must leave as it was: sessions (every status), their messages and
 * events, agents and API keys, read from the store itself. Two snapshots are compared with
 * deepEqual; `lastUsedAt` of keys is left out (using a key is not a change a client asked for).
 */
import type { TestServer } from './server.js';

export async function storeSnapshot(server: TestServer): Promise<unknown> {
  const { store } = server.app;
  const list = await store.listSessions({ status: 'all', limit: 1000, offset: 0, now: server.clock.now(), retentionMs: 1e15 });
  const sessions = await Promise.all(
    list.sessions.map(async (s) => ({
      session: s,
      messages: await store.recentMessages(s.id, 1000),
      events: await store.eventsAfter(s.id, 0, 1000),
    })),
  );
  const agents = await store.listAgents();
  const keys = (await store.listApiKeys()).map(({ lastUsedAt: _used, ...k }) => k);
  const sort = <T extends { id: string }>(items: T[]) => [...items].sort((a, b) => a.id.localeCompare(b.id));
  return {
    sessions: sessions.sort((a, b) => a.session.id.localeCompare(b.session.id)),
    agents: sort(agents),
    keys: sort(keys),
  };
}
