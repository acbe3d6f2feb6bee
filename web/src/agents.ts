/** The agents a key may see, by id, for names in lists and selects (`GET /api/agents`). */
import { requestJson, type Credential } from './api/client.js';
import type { AgentList, AgentSummary } from './api/types.js';

export class AgentDirectory {
  private agents: AgentSummary[] = [];
  private loaded: Promise<AgentSummary[]> | null = null;

  /** The agents, read once per key (again after `forget`). */
  load(credential: Credential): Promise<AgentSummary[]> {
    this.loaded ??= requestJson<AgentList>('GET', '/api/agents', { credential }).then(
      ({ agents }) => {
        this.agents = agents;
        return agents;
      },
      (error: unknown) => {
        this.loaded = null;
        throw error;
      },
    );
    return this.loaded;
  }

  name(agentId: string): string | undefined {
    return this.agents.find((agent) => agent.id === agentId)?.name;
  }

  forget(): void {
    this.agents = [];
    this.loaded = null;
  }
}
