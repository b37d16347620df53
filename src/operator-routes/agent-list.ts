import type { AgentRegistry } from '../auth/agent-registry.js';
import { agentRoute } from '../domain/command.js';
import type { Scope } from '../domain/scope.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { ConnectionRecord } from '../store/cluster-directory.js';
import type { OperatorStore, Page } from '../store/operator-store.js';
import type { AgentRecord } from '../store/records.js';
import type { AgentListFilter, ConnectionFilter } from './agent-list-schemas.js';

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

/** How many registered agents one request reads at most to fill a page filtered by connection. */
export const CONNECTION_SCAN_BUDGET = 5000;
const CONNECTION_SCAN_CHUNK = 500;

/**
 * A page of agents, each with how it is connected right now and when it was last seen. Group, id or
 * name prefix and the key's scope are the store's filters. The connection is known only here (this
 * node's subscriptions, the cluster's records): with a connection filter, the store's agents are
 * read in id order a chunk at a time and judged, until the page is full or
 * `CONNECTION_SCAN_BUDGET` agents were read. The cursor is the id of the last agent judged (the
 * store's cursor is an agent id), so the next page starts right after it and no agent is skipped;
 * a page may then hold fewer items than asked (none, even) while `next` is not null. Each agent is
 * judged when its page is read: one that connects or leaves in between is shown as it was then.
 */
export async function listAgentsWithConnection(deps: AgentListDeps, page: Page, scope: Scope, filter: AgentListFilter = {}) {
  const { connection, ...stored } = filter;
  if (connection === undefined) {
    const found = await deps.operators.listAgents(page, scope, stored);
    return { items: await withConnection(deps, found.items), next: found.next };
  }
  const items: AgentWithConnection[] = [];
  let cursor = page.cursor ?? null;
  for (let read = 0; read < CONNECTION_SCAN_BUDGET;) {
    const chunk = await deps.operators.listAgents({ limit: Math.min(CONNECTION_SCAN_CHUNK, CONNECTION_SCAN_BUDGET - read), cursor }, scope, stored);
    const judged = await withConnection(deps, chunk.items);
    for (const [i, agent] of judged.entries()) {
      if (!matches(agent.connection, connection)) continue;
      items.push(agent);
      if (items.length === page.limit) return { items, next: i === judged.length - 1 && chunk.next === null ? null : agent.id };
    }
    read += chunk.items.length;
    if (chunk.next === null || chunk.items.length === 0) return { items, next: null };
    cursor = chunk.next;
  }
  return { items, next: cursor };
}

function matches(connection: AgentWithConnection['connection'], filter: ConnectionFilter): boolean {
  if (filter === 'connected') return connection !== 'offline';
  return connection === filter;
}

type AgentWithConnection = Awaited<ReturnType<typeof withConnection>>[number];

/** The agents, each with how it is connected right now (here, or elsewhere in the cluster) and when it was last seen. */
async function withConnection(deps: AgentListDeps, agents: AgentRecord[]) {
  const here = new Map(agents.map((a) => [a.id, deps.supervisor.connectionOf(agentRoute(a.id))]));
  const elsewhere = await connectedElsewhere(
    deps,
    [...here].filter(([, connection]) => connection === 'offline').map(([id]) => agentRoute(id)),
  );
  return agents.map((a) => {
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
  });
}

/** The other nodes' connections of these routes; none when the cluster cannot say (the list shows what this node knows). */
async function connectedElsewhere(deps: AgentListDeps, routes: string[]): Promise<Map<string, Elsewhere>> {
  if (!deps.connectedElsewhere || routes.length === 0) return new Map();
  return deps.connectedElsewhere(routes).catch(() => new Map());
}
