import type { Client } from '@opensearch-project/opensearch';
import type { ClusterDirectory, ConnectionRecord, NodeCard } from '../cluster-directory.js';
import { isStatus, toCourierError } from './failures.js';
import { getFound } from './search.js';

interface Version {
  seqNo: number;
  primaryTerm: number;
}

interface BulkItem {
  index?: { _id: string; status: number; _seq_no?: number; _primary_term?: number };
  delete?: { _id: string; status: number };
}

/**
 * The cluster directory in two indices read by id: `courier-nodes` (a card per node) and
 * `courier-connections` (a record per connected route, its id the route). A node removes only the
 * records it wrote, on the version it wrote them at: a route another node has recorded since is
 * that node's.
 */
export class OpenSearchClusterDirectory implements ClusterDirectory {
  /** The routes this node recorded, at the version it wrote. */
  private readonly recorded = new Map<string, Version>();

  constructor(
    private readonly client: Client,
    private readonly indices: { nodes: string; connections: string },
  ) {}

  async announce(card: NodeCard): Promise<void> {
    await this.call(() => this.client.index({ index: this.indices.nodes, id: card.node, body: card }));
  }

  async leave(node: string): Promise<void> {
    try {
      await this.client.delete({ index: this.indices.nodes, id: node });
    } catch (error) {
      if (!isStatus(error, 404)) throw toCourierError(error);
    }
  }

  async cards(nodes: string[]): Promise<Map<string, NodeCard>> {
    const docs = await this.call(() => getFound<NodeCard>(this.client, this.indices.nodes, nodes, 'node card'));
    return new Map(docs.map((doc) => [doc._id, doc._source]));
  }

  async connect(routes: { route: string; transport: ConnectionRecord['transport'] }[], node: string, at: number): Promise<void> {
    if (routes.length === 0) return;
    const body = routes.flatMap(({ route, transport }) => [{ index: { _index: this.indices.connections, _id: route } }, { route, node, transport, since: at }]);
    const items = await this.bulk(body);
    for (const item of items) {
      const done = item.index;
      if (done && done.status < 300 && done._seq_no !== undefined) this.recorded.set(done._id, { seqNo: done._seq_no, primaryTerm: done._primary_term! });
    }
  }

  async clear(node: string): Promise<void> {
    const index = this.indices.connections;
    await this.call(async () => {
      // The index is never refreshed on its own (it is read by id): what a search should see is refreshed first.
      await this.client.indices.refresh({ index });
      await this.client.deleteByQuery({ index, body: { query: { term: { node } } }, conflicts: 'proceed', refresh: true });
    });
  }

  async disconnect(routes: string[]): Promise<string[]> {
    const body: object[] = [];
    for (const route of routes) {
      const version = this.recorded.get(route);
      if (version) body.push({ delete: { _index: this.indices.connections, _id: route, if_seq_no: version.seqNo, if_primary_term: version.primaryTerm } });
    }
    if (body.length === 0) return [];
    const kept: string[] = [];
    for (const item of await this.bulk(body)) {
      const done = item.delete!;
      // Removed, or not ours any more (409: another node recorded the route since; 404: gone): forgotten.
      if (done.status < 300 || done.status === 404 || done.status === 409) this.recorded.delete(done._id);
      else kept.push(done._id);
    }
    return kept;
  }

  async connections(routes: string[]): Promise<Map<string, ConnectionRecord>> {
    const docs = await this.call(() => getFound<ConnectionRecord>(this.client, this.indices.connections, routes, 'connection of'));
    return new Map(docs.map((doc) => [doc._id, doc._source]));
  }

  private async bulk(body: object[]): Promise<BulkItem[]> {
    const res = await this.call(() => this.client.bulk({ body }));
    return (res.body as unknown as { items: BulkItem[] }).items;
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toCourierError(error);
    }
  }
}
