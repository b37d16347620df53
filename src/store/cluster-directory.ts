/** How the other nodes of a cluster reach a node (its card in the cluster). */
export interface NodeCard {
  node: string;
  /** The base URL of its management API, as the other nodes reach it. */
  url: string;
  /** The SHA-256 fingerprint of the CA of its certificate (absent on plain HTTP): the others pin it. */
  ca_fingerprint?: string;
  /** What the others present to it (`Authorization: Bearer …`); made anew at every start. */
  secret: string;
  /** When it last said it is alive (ms since the epoch). */
  seen_at: number;
}

/** Which node an agent (a route) is connected to, and how. */
export interface ConnectionRecord {
  route: string;
  node: string;
  transport: 'websocket' | 'long-poll';
  since: number;
}

/**
 * The cluster's directory of its nodes and of which node each route is connected to (Wazuh keeps
 * the latter as the agent's `persistent_connection_node`). Only a store shared by several nodes has
 * one; everything in it is a hint: a node acting on a stale entry is told, or is late, never wrong.
 */
export interface ClusterDirectory {
  /** Writes (or refreshes) this node's card. */
  announce(card: NodeCard): Promise<void>;
  /** Removes this node's card (a graceful stop). */
  leave(node: string): Promise<void>;
  /** The cards of these nodes; unknown ones are absent. */
  cards(nodes: string[]): Promise<Map<string, NodeCard>>;
  /** Records that these routes are connected to `node` now, each by its transport. */
  connect(routes: { route: string; transport: ConnectionRecord['transport'] }[], node: string, at: number): Promise<void>;
  /** Removes every record naming `node` (one a node left behind when it last stopped without removing them). */
  clear(node: string): Promise<void>;
  /**
   * Removes the records of these routes this node wrote, unless another node has recorded the route
   * since; returns the routes whose record could not be removed now (to try again).
   */
  disconnect(routes: string[]): Promise<string[]>;
  /** The recorded connection of each of these routes; routes connected nowhere are absent. */
  connections(routes: string[]): Promise<Map<string, ConnectionRecord>>;
}
