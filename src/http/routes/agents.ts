/** /api/agents: create, list, get, change and delete agents. */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { ANY_KEY, grants } from '../../auth/scopes.js';
import { toAgentSummaryView, toAgentView, type Agent as AgentRecord } from '../../domain/agent.js';
import type { Deps } from '../deps.js';
import { responses } from '../responses.js';
import { Agent, AgentAsSeen, agentBody, AgentIdParams, agentPatchBody, DeleteAgentQuery, Success } from '../schemas.js';
import type { App } from '../types.js';

const tags = ['agents'];

/** SPEC §6: only a key that may manage agents sees their prompts, URLs and variable names. */
function viewFor(request: FastifyRequest): (agent: AgentRecord) => ReturnType<typeof toAgentView> | ReturnType<typeof toAgentSummaryView> {
  const principal = request.principal;
  const manages =
    principal === null || principal.kind === 'open' || (principal.kind === 'key' && grants(principal.scopes, 'agents:manage'));
  return manages ? toAgentView : toAgentSummaryView;
}

export async function agentRoutes(app: App, deps: Deps): Promise<void> {
  const { agents, settings } = deps;

  app.post(
    '/',
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
      const agent = await agents.create({ ...request.body, metadata: request.body.metadata ?? {} });
      return reply.status(201).send(toAgentView(agent));
    },
  );

  app.get(
    '/',
    {
      config: { auth: { scope: ANY_KEY } },
      schema: {
        tags,
        summary: 'List agents',
        description: 'A key without `agents:manage` sees each agent as an AgentSummary.',
        operationId: 'listAgents',
        response: responses({ 200: Type.Object({ agents: Type.Array(AgentAsSeen) }) }, []),
      },
    },
    async (request) => ({ agents: (await agents.list()).map(viewFor(request)) }),
  );

  app.get(
    '/:agentId',
    {
      config: { auth: { scope: ANY_KEY } },
      schema: {
        tags,
        summary: 'Get an agent',
        description: 'A key without `agents:manage` sees the agent as an AgentSummary.',
        operationId: 'getAgent',
        params: AgentIdParams,
        response: responses({ 200: AgentAsSeen }, [404]),
      },
    },
    async (request) => viewFor(request)(await agents.get(request.params.agentId)),
  );

  app.patch(
    '/:agentId',
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
      if (patch.metadata !== undefined) patch.metadata = patch.metadata ?? {};
      return toAgentView(await agents.update(request.params.agentId, patch as Parameters<typeof agents.update>[1]));
    },
  );

  app.delete(
    '/:agentId',
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
