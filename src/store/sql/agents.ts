/** Agents over Kysely, the same SQL for both dialects (a cold path). */
import type { Agent } from '../../domain/agent.js';
import type { AgentStore } from '../store.js';
import type { OpsContext } from './context.js';
import { agentColumns, count, toAgent } from './rows.js';

export class SqlAgents implements AgentStore {
  constructor(protected readonly ctx: OpsContext) {}

  async insertAgent(agent: Agent): Promise<void> {
    await this.ctx.db
      .insertInto('agents')
      .values({ id: agent.id, created_at: agent.createdAt, ...agentColumns(agent) })
      .execute();
  }

  async getAgent(id: string): Promise<Agent | undefined> {
    const row = await this.ctx.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAgent(row);
  }

  async listAgents(): Promise<Agent[]> {
    const rows = await this.ctx.db.selectFrom('agents').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toAgent);
  }

  async updateAgent(agent: Agent): Promise<void> {
    await this.ctx.db.updateTable('agents').set(agentColumns(agent)).where('id', '=', agent.id).execute();
  }

  async deleteAgent(id: string): Promise<boolean> {
    const result = await this.ctx.db.deleteFrom('agents').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async countAgents(): Promise<number> {
    const row = await this.ctx.db
      .selectFrom('agents')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    return count(row?.n);
  }

  async activeSessionIdsOfAgent(agentId: string, now: number): Promise<string[]> {
    const rows = await this.ctx.db
      .selectFrom('sessions')
      .select('id')
      .where('agent_id', '=', agentId)
      .where('expires_at', '>', now)
      .execute();
    return rows.map((r) => r.id);
  }
}
