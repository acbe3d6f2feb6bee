import type { AgentInput, AgentValidator } from '../services/agents.js';
import { validateMetadata } from '../domain/validation.js';
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
    const input = value as AgentInput & { metadata?: unknown };
    return { ...input, metadata: validateMetadata(input.metadata) };
  };
}
