/**
 * The built-in agent: Weizenbaum's ELIZA script (the elizabot package), offline and
 * deterministic. ELIZA keeps state (which reassembly it used last, remembered phrases), so each
 * reply replays the user's earlier messages through a fresh bot: the same history always gives
 * the same answer, on any instance and after any restart.
 */
import ElizaBot from 'elizabot';
import type { AgentProvider, ReplyRequest } from './provider.js';

function deterministicBot(): ElizaBot {
  const bot = new ElizaBot(true);
  // The package picks a farewell at random even in non-random mode.
  bot.getFinal = () => 'Goodbye.  It was nice talking to you.';
  return bot;
}

export function elizaAnswer(userHistory: string[], input: string): string {
  const bot = deterministicBot();
  for (const earlier of userHistory) bot.transform(earlier);
  return bot.transform(input);
}

/** Splits a reply into word-sized chunks that concatenate back to it exactly. */
function wordChunks(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

export const elizaProvider: AgentProvider = {
  async *reply(request: ReplyRequest) {
    const earlier = request.history.filter((m) => !m.isAgent).map((m) => m.content);
    const answer = elizaAnswer(earlier, request.message.content);
    for (const chunk of wordChunks(answer)) {
      if (request.signal.aborted) return;
      yield chunk;
    }
  },
};
