import type { AgentRegistry } from '../auth/agent-registry.js';
import { agentRoute } from '../domain/command.js';
import type { Scope } from '../domain/scope.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { OperatorStore, Page } from '../store/operator-store.js';

// Mounted on the admin socket (admin-api/) and on the management API (management/): it lives in
// operator-routes/, which both of them import and which imports neither.

export interface AgentListDeps {
  operators: OperatorStore;
  agents: AgentRegistry;
  supervisor: Supervisor;
}

/** A page of agents, each with how it is connected right now and when it was last seen. */
export async function listAgentsWithConnection(deps: AgentListDeps, page: Page, scope: Scope) {
  const found = await deps.operators.listAgents(page, scope);
  return {
    items: found.items.map((a) => {
      const lastSeen = deps.agents.lastSeen(a.id);
      return {
        id: a.id,
        name: a.name ?? null,
        groups: a.groups,
        created_at: new Date(a.createdAt).toISOString(),
        connection: deps.supervisor.connectionOf(agentRoute(a.id)),
        last_seen: lastSeen === null ? null : new Date(lastSeen).toISOString(),
      };
    }),
    next: found.next,
  };
}
