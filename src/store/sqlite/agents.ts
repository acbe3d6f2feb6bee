/**
 * Agents on SQLite: the read by id prepared. Every create and every message looks its agent up,
 * and through Kysely that lookup was a tenth of a create's CPU (docs/benchmarks.md).
 */
import type { Selectable } from 'kysely';
import type { Agent } from '../../domain/agent.js';
import type { AgentsTable } from '../schema.js';
import { SqlAgents } from '../sql/agents.js';
import type { OpsContext } from '../sql/context.js';
import { toAgent } from '../sql/rows.js';
import { settled, type SqliteStatements } from './statements.js';

export class SqliteAgents extends SqlAgents {
  constructor(
    ctx: OpsContext,
    private readonly statements: SqliteStatements,
  ) {
    super(ctx);
  }

  override getAgent(id: string): Promise<Agent | undefined> {
    if (!this.statements.direct(this.ctx)) return super.getAgent(id);
    return settled(() => {
      const row = this.statements.get('select * from agents where id = ?').get(id) as Selectable<AgentsTable> | undefined;
      return row && toAgent(row);
    });
  }
}
