import type { AgentRegistry } from '../auth/agent-registry.js';
import type { HttpApp } from '../http/app.js';
import { AgentIdParams, AgentView, errorResponses, NoQuery, RegisterAgentBody, RegisteredAgent, RemovedAgent, SetAgentGroupsBody } from '../http/schemas.js';

const tags = ['agents'];
/** Who the audit trail names for an edit made on the socket (as for the results reported on it). */
const SOCKET_ACTOR = 'admin-socket';

/** Agent registration on the admin plane: register, read, set its groups, remove. Keys are never read back. */
export function registerAgentAdminRoutes(app: HttpApp, agents: AgentRegistry, node: string): void {
  app.post(
    '/api/v1/agents',
    {
      schema: {
        tags,
        summary: 'Register an agent (a key is generated and shown once if none is given); `replace: true` registers an existing id again',
        body: RegisterAgentBody,
        querystring: NoQuery,
        response: { 201: RegisteredAgent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id, key, groups, name, replace } = request.body;
      return reply.code(201).send(await agents.register(id, groups ?? [], { key, name, replace }));
    },
  );

  app.get(
    '/api/v1/agents/:id',
    { schema: { tags, summary: 'A registered agent', params: AgentIdParams, querystring: NoQuery, response: { 200: AgentView, ...errorResponses } } },
    async (request) => agents.get(request.params.id),
  );

  app.put(
    '/api/v1/agents/:id/groups',
    {
      schema: {
        tags,
        summary: "Set an agent's groups (all of them: the list replaces its groups); audited",
        params: AgentIdParams,
        querystring: NoQuery,
        body: SetAgentGroupsBody,
        response: { 200: AgentView, ...errorResponses },
      },
    },
    async (request) => agents.setGroups(request.params.id, request.body.groups, { node, actor: SOCKET_ACTOR }),
  );

  app.delete(
    '/api/v1/agents/:id',
    { schema: { tags, summary: 'Remove an agent', params: AgentIdParams, querystring: NoQuery, response: { 200: RemovedAgent, ...errorResponses } } },
    async (request) => {
      await agents.remove(request.params.id);
      return { id: request.params.id, removed: true };
    },
  );
}
