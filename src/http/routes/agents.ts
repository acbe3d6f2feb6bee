/** /api/agents: create, list, get, change and delete agents. */
import { Type } from 'typebox';
import { ANY_KEY } from '../../auth/scopes.js';
import { toAgentView } from '../../domain/agent.js';
import { validateMetadata } from '../../domain/validation.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import {
  Agent,
  agentBody,
  AgentIdParams,
  agentPatchBody,
  DeleteAgentQuery,
  Success,
  type AgentBody,
  type AgentPatchBody,
} from '../schemas.js';
import type { App } from '../server.js';

const tags = ['agents'];

export async function agentRoutes(app: App, deps: Deps): Promise<void> {
  const { agents, settings } = deps;

  app.post<{ Body: AgentBody }>(
    '/api/agents',
    {
      config: { auth: { scope: 'agents:manage' } },
      schema: {
        tags,
        summary: 'Create an agent',
        operationId: 'createAgent',
        body: agentBody(settings.bounds),
        response: responses({ 201: Agent }, [400, 409, 413, 415]),
      },
    },
    async (request, reply) => {
      const agent = await agents.create({ ...request.body, metadata: validateMetadata(request.body.metadata) });
      return reply.status(201).send(toAgentView(agent));
    },
  );

  app.get(
    '/api/agents',
    {
      config: { auth: { scope: ANY_KEY } },
      schema: { tags, summary: 'List agents', operationId: 'listAgents', response: responses({ 200: Type.Object({ agents: Type.Array(Agent) }) }, []) },
    },
    async () => ({ agents: (await agents.list()).map(toAgentView) }),
  );

  app.get<{ Params: AgentIdParams }>(
    '/api/agents/:agentId',
    {
      config: { auth: { scope: ANY_KEY } },
      schema: { tags, summary: 'Get an agent', operationId: 'getAgent', params: AgentIdParams, response: responses({ 200: Agent }, [404]) },
    },
    async (request) => toAgentView(await agents.get(request.params.agentId)),
  );

  app.patch<{ Params: AgentIdParams; Body: AgentPatchBody }>(
    '/api/agents/:agentId',
    {
      config: { auth: { scope: 'agents:manage' } },
      schema: {
        tags,
        summary: 'Change an agent (fields not given are kept)',
        operationId: 'updateAgent',
        params: AgentIdParams,
        body: agentPatchBody(settings.bounds),
        response: responses({ 200: Agent }, [400, 404, 413, 415]),
      },
    },
    async (request) => {
      const patch = { ...request.body };
      if (patch.metadata !== undefined) patch.metadata = validateMetadata(patch.metadata);
      return toAgentView(await agents.update(request.params.agentId, patch as Parameters<typeof agents.update>[1]));
    },
  );

  app.delete<{ Params: AgentIdParams; Querystring: { force?: boolean } }>(
    '/api/agents/:agentId',
    {
      config: { auth: { scope: 'agents:manage' } },
      schema: {
        tags,
        summary: 'Delete an agent; 409 while it has active sessions unless force=true ends them',
        operationId: 'deleteAgent',
        params: AgentIdParams,
        querystring: DeleteAgentQuery,
        response: responses({ 200: Success }, [404, 409]),
      },
    },
    async (request) => {
      await agents.delete(request.params.agentId, request.query.force === true);
      return { success: true as const, message: `Agent ${request.params.agentId} deleted successfully` };
    },
  );
}
