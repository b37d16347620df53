import type { ClusterDirectory, ConnectionRecord, NodeCard } from '../../src/store/cluster-directory.js';

/**
 * A cluster directory in memory, for unit tests of what reads and writes it (the OpenSearch one is
 * tested against a real node in test/store/opensearch/cluster-directory.test.ts). It counts reads.
 */
export class MemoryClusterDirectory implements ClusterDirectory {
  readonly nodes = new Map<string, NodeCard>();
  readonly connected = new Map<string, ConnectionRecord>();
  readonly reads = { cards: 0, connections: 0 };
  /** Routes recorded by this directory's node, as `disconnect` removes only those. */
  private readonly mine = new Set<string>();

  async announce(card: NodeCard): Promise<void> {
    this.nodes.set(card.node, { ...card });
  }
  async leave(node: string): Promise<void> {
    this.nodes.delete(node);
  }
  async cards(nodes: string[]): Promise<Map<string, NodeCard>> {
    this.reads.cards++;
    return new Map(nodes.flatMap((n) => (this.nodes.has(n) ? [[n, { ...this.nodes.get(n)! }] as const] : [])));
  }
  async connect(routes: { route: string; transport: ConnectionRecord['transport'] }[], node: string, at: number): Promise<void> {
    for (const { route, transport } of routes) {
      this.connected.set(route, { route, node, transport, since: at });
      this.mine.add(route);
    }
  }
  async clear(node: string): Promise<void> {
    for (const [route, record] of this.connected) if (record.node === node) this.connected.delete(route);
  }
  async disconnect(routes: string[]): Promise<string[]> {
    for (const route of routes) if (this.mine.delete(route)) this.connected.delete(route);
    return [];
  }
  async connections(routes: string[]): Promise<Map<string, ConnectionRecord>> {
    this.reads.connections++;
    return new Map(routes.flatMap((r) => (this.connected.has(r) ? [[r, { ...this.connected.get(r)! }] as const] : [])));
  }
}
