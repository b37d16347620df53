import type { FastifyRequest } from 'fastify';
import { allowsAction, allowsAgent, type Scope } from '../domain/scope.js';
import { distinctGroups, groupChangeOutside } from '../domain/agent-groups.js';
import { errors, type CourierError } from '../errors.js';
import type { CommandSpec } from '../domain/command.js';
import type { CommandPolicy } from '../operator-routes/command-routes.js';
import type { HttpApp } from '../http/app.js';
import { AgentIdParams, AgentView, errorResponses, NoQuery, RegisterAgentBody, RegisteredAgent, RemovedAgent, SetAgentGroupsBody } from '../http/schemas.js';
import type { AgentRegistry } from '../auth/agent-registry.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { OperatorStore } from '../store/operator-store.js';
import type { CommandStore } from '../store/store.js';
import { actorOf, type Access } from './access.js';
import { listAgentsWithConnection, type AgentListDeps } from '../operator-routes/agent-list.js';
import { AgentPage, PageQuery, toPage } from '../operator-routes/schemas.js';
import { AgentsListQuery, SetGroupQuery, ShortcutBody } from './shortcut-schemas.js';

const tags = ['agents'];

export interface ManagementAgentDeps extends Pick<AgentListDeps, 'node' | 'connectedElsewhere'> {
  supervisor: Supervisor;
  store: CommandStore;
  operators: OperatorStore;
  agents: AgentRegistry;
  access: Access;
  policy: CommandPolicy;
}

/** Commands sent through the Wazuh-style shortcuts, as the Wazuh helpers send them. */
function shortcutSpec(agentId: string, action: string, args: Record<string, unknown> = {}): CommandSpec {
  return { source: 'Users/Services', target: { type: 'agent', id: agentId }, action: { name: action, args, version: '' }, timeout: 100 };
}

/**
 * Agents on the management API: the list with each agent's connection state, registration, its
 * groups and removal (admin), and the Wazuh-style shortcuts `PUT /agents/{id}/restart`,
 * `PUT /agents/restart?agents_list=` (empty: every agent the key may reach) and
 * `PUT /agents/group?agents_list=&group_id=` (a set-group command to each).
 */
export function registerManagementAgentRoutes(app: HttpApp, deps: ManagementAgentDeps): void {
  const { supervisor, store, operators, agents, access, policy, node } = deps;

  app.get(
    '/api/v1/agents',
    {
      schema: {
        tags,
        summary: 'Agents with their connection state (long-poll, websocket, offline) and last seen',
        querystring: PageQuery,
        response: { 200: AgentPage, ...errorResponses },
      },
      config: { permission: 'agents:read' },
    },
    async (request) => listAgentsWithConnection(deps, toPage(request.query), access.principal(request).scope),
  );

  app.post(
    '/api/v1/agents',
    {
      schema: {
        tags,
        summary: 'Register an agent (admin); `replace: true` registers an existing id again',
        body: RegisterAgentBody,
        querystring: NoQuery,
        response: { 201: RegisteredAgent, ...errorResponses },
      },
      config: { permission: 'agents:write' },
    },
    async (request, reply) => {
      const { id, key, groups, name, replace } = request.body;
      await assertAgentsInScope(request, [id], new Map([[id, groups ?? []]]));
      // Replacing takes the agent from its current registration: that one must be in scope too.
      if (replace) await assertAgentsInScope(request, [id], await store.agentGroups([id]));
      return reply.code(201).send(await agents.register(id, groups ?? [], { key, name, replace }));
    },
  );

  app.delete(
    '/api/v1/agents/:id',
    {
      schema: { tags, summary: 'Remove an agent (admin)', params: AgentIdParams, querystring: NoQuery, response: { 200: RemovedAgent, ...errorResponses } },
      config: { permission: 'agents:write' },
    },
    async (request) => {
      await assertAgentsInScope(request, [request.params.id], await store.agentGroups([request.params.id]));
      await agents.remove(request.params.id);
      return { id: request.params.id, removed: true };
    },
  );

  app.put(
    '/api/v1/agents/:id/groups',
    {
      schema: {
        tags,
        summary: "Set an agent's groups (admin; all of them: the list replaces its groups); audited",
        description:
          'A scoped key reaches as far as a set-group command it could send: the agent must be inside its scope, the key may send set-group, and every group it names or removes must be one of its groups.',
        params: AgentIdParams,
        querystring: NoQuery,
        body: SetAgentGroupsBody,
        response: { 200: AgentView, ...errorResponses },
      },
      config: { permission: 'agents:write' },
    },
    async (request) => {
      const { id } = request.params;
      const groups = distinctGroups(request.body.groups);
      const principal = access.principal(request);
      const current = await store.agentGroups([id]);
      await assertAgentsInScope(request, [id], current);
      if (!allowsAction(principal.scope, 'set-group')) await access.refuse(request, errors.OUT_OF_SCOPE('action set-group'));
      const outside = groupChangeOutside(principal.scope, current.get(id) ?? [], groups);
      if (outside !== undefined) await access.refuse(request, errors.OUT_OF_SCOPE(`group ${outside} (named or removed)`));
      return agents.setGroups(id, groups, { node, actor: actorOf(principal) });
    },
  );

  /**
   * A scoped key may name only agents inside its scope; an unknown agent is judged by its id alone,
   * so the answer does not tell an unknown agent from one outside the scope.
   */
  const assertAgentsInScope = async (request: FastifyRequest, ids: string[], groupsOf: Map<string, string[]>) => {
    const { scope } = access.principal(request);
    const outside = ids.find((id) => !allowsAgent(scope, id, groupsOf.get(id) ?? []));
    if (outside !== undefined) await access.refuse(request, errors.OUT_OF_SCOPE(`agent ${outside}`));
  };

  /** Sends one command per agent; unknown agents are reported as failed items, Wazuh-style. */
  const sendToAgents = async (request: FastifyRequest, ids: string[], action: string, args: Record<string, unknown>, message: string) => {
    const known = await store.agentGroups(ids);
    await assertAgentsInScope(request, ids, known);
    const failed = ids.filter((id) => !known.has(id)).map((id) => ({ id, error: toErrorItem(errors.AGENT_NOT_FOUND(id)) }));
    const targets = ids.filter((id) => known.has(id));
    let commands: { document_id: string; agent: { id: string | null }; request_id: string }[] = [];
    if (targets.length > 0) {
      const { specs, who, owner } = await policy.submit(
        request,
        targets.map((id) => shortcutSpec(id, action, args)),
      );
      commands = await supervisor.submit(specs, who, { owner });
    }
    return {
      data: {
        affected_items: commands.map((c) => c.agent.id),
        total_affected_items: commands.length,
        failed_items: failed,
        total_failed_items: failed.length,
        commands: commands.map((c) => ({ agent_id: c.agent.id, document_id: c.document_id })),
        request_id: commands[0]?.request_id ?? null,
      },
      message: failed.length === 0 ? message : `${message}, except to some agents`,
      error: failed.length === 0 ? 0 : 2,
    };
  };

  const shortcut = <S extends object>(summary: string, extra: S) => ({
    schema: { tags, summary, ...extra, response: { 200: ShortcutBody, ...errorResponses } },
    config: { permission: 'commands:send' as const },
  });

  app.put('/api/v1/agents/:id/restart', shortcut('Wazuh-style: send a restart command to one agent', { params: AgentIdParams, querystring: NoQuery }), async (request) =>
    sendToAgents(request, [request.params.id], 'restart', {}, 'Restart command sent to the agent'),
  );

  app.put(
    '/api/v1/agents/restart',
    shortcut('Wazuh-style: restart the listed agents (empty list: every agent the key may reach)', { querystring: AgentsListQuery }),
    async (request) => {
      const listed = splitList(request.query.agents_list);
      // An empty list means every agent the key may reach (a scoped key never reaches further).
      const ids = listed.length > 0 ? listed : await allAgentIds(operators, access.principal(request).scope);
      return sendToAgents(request, ids, 'restart', {}, 'Restart command sent to the agents');
    },
  );

  app.put('/api/v1/agents/group', shortcut('Wazuh-style: send a set-group command to the listed agents', { querystring: SetGroupQuery }), async (request) =>
    sendToAgents(request, splitList(request.query.agents_list), 'set-group', { groups: [request.query.group_id] }, `Set-group command sent to the agents`),
  );
}

/** A failed item of a Wazuh-style answer: its code is always the catalogue's string, never a wire number. */
function toErrorItem(error: CourierError): { code: string; message: string } {
  return { code: error.code, message: error.message };
}

function splitList(list: string | undefined): string[] {
  return [
    ...new Set(
      (list ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

async function allAgentIds(store: OperatorStore, scope: Scope): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listAgents({ limit: 1000, cursor }, scope);
    for (const agent of page.items) ids.push(agent.id);
    cursor = page.next;
  } while (cursor);
  return ids;
}
