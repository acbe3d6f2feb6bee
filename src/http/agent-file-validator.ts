import type { AgentInput, AgentValidator } from '../services/agents.js';
import { validationError } from '../domain/errors.js';
import type { TimeoutBounds } from '../settings.js';
import { makeAjv } from './ajv.js';
import { describeValidation } from './errors.js';
import { agentBody } from './schemas.js';

/** Agent files (AGENTS_DIR) are checked against the same schema as POST /api/agents. */
export function agentFileValidator(bounds: TimeoutBounds): AgentValidator {
  const check = makeAjv({ allErrors: true }).compile(agentBody(bounds));
  return (value: unknown): AgentInput => {
    if (!check(value)) throw validationError(describeValidation(check.errors ?? [], 'agent'));
    // The schema checked the metadata too (ajv.ts METADATA_KEYWORD); null means {}.
    const input = value as Omit<AgentInput, 'metadata'> & { metadata?: AgentInput['metadata'] | null };
    return { ...input, metadata: input.metadata ?? {} };
  };
}
