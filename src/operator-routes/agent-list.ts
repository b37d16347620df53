import type { AgentRegistry } from '../auth/agent-registry.js';
import { agentRoute } from '../domain/command.js';
import type { Scope } from '../domain/scope.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { ConnectionRecord } from '../store/cluster-directory.js';
import type { OperatorStore, Page } from '../store/operator-store.js';

// Mounted on the admin socket (admin-api/) and on the management API (management/): it lives in
// operator-routes/, which both of them import and which imports neither.

export interface AgentListDeps {
  operators: OperatorStore;
  agents: AgentRegistry;
  supervisor: Supervisor;
  /** This node's name. */
  node: string;
  /** On a cluster: where routes not connected here are connected on other nodes (see `ClusterFeed.whereConnected`). */
  connectedElsewhere?: ((routes: string[]) => Promise<Map<string, Elsewhere>>) | undefined;
}

/** Where an agent not connected here is connected. */
type Elsewhere = Pick<ConnectionRecord, 'node' | 'transport'>;

/** A page of agents, each with how it is connected right now and when it was last seen. */
export async function listAgentsWithConnection(deps: AgentListDeps, page: Page, scope: Scope) {
  const found = await deps.operators.listAgents(page, scope);
  const here = new Map(found.items.map((a) => [a.id, deps.supervisor.connectionOf(agentRoute(a.id))]));
  const elsewhere = await connectedElsewhere(
    deps,
    [...here].filter(([, connection]) => connection === 'offline').map(([id]) => agentRoute(id)),
  );
  return {
    items: found.items.map((a) => {
      const lastSeen = deps.agents.lastSeen(a.id);
      const local = here.get(a.id)!;
      const remote = local === 'offline' ? elsewhere.get(agentRoute(a.id)) : undefined;
      return {
        id: a.id,
        name: a.name ?? null,
        groups: a.groups,
        created_at: new Date(a.createdAt).toISOString(),
        connection: remote?.transport ?? local,
        node: remote?.node ?? (local === 'offline' ? null : deps.node),
        last_seen: lastSeen === null ? null : new Date(lastSeen).toISOString(),
      };
    }),
    next: found.next,
  };
}

/** The other nodes' connections of these routes; none when the cluster cannot say (the list shows what this node knows). */
async function connectedElsewhere(deps: AgentListDeps, routes: string[]): Promise<Map<string, Elsewhere>> {
  if (!deps.connectedElsewhere || routes.length === 0) return new Map();
  return deps.connectedElsewhere(routes).catch(() => new Map());
}
