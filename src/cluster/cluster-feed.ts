import type { CommandDocument } from '../domain/command.js';
import type { ConnectionRecord } from '../store/cluster-directory.js';
import { ChangeNotices, type ChangeNoticesOptions } from './change-notices.js';
import { ClusterMembership, isAlive, type Address } from './cluster-membership.js';
import { ConnectionRecords } from './connection-records.js';

/** What the feed needs: the same as its notices (`serves` is read when commands are created). */
export type ClusterFeedOptions = ChangeNoticesOptions;

/**
 * What a node of a cluster does so that a command created on one node reaches an agent connected
 * to another at once rather than at the other's next poll: it keeps its card in the cluster, records
 * which agents are connected to it, and tells the node of a route of the commands it creates for it.
 */
export class ClusterFeed {
  private readonly membership: ClusterMembership;
  private readonly records: ConnectionRecords;
  private readonly notices: ChangeNotices;

  constructor(private readonly options: ClusterFeedOptions) {
    this.membership = new ClusterMembership(options);
    this.records = new ConnectionRecords(options.directory, options.node, options.logger, options.now);
    this.notices = new ChangeNotices(options);
  }

  /** What other nodes present to this one. */
  get secret(): string {
    return this.membership.secret;
  }

  /** Removes the connection records this node left behind when it last stopped without removing them (kill -9). Before anything connects. */
  async start(): Promise<void> {
    await this.options.directory.clear(this.options.node);
  }

  /**
   * Where these routes are connected on the other nodes, as the cluster records it; a record of a
   * node whose card is stale (gone for 30 s), or of this node (what it knows itself), does not count.
   */
  async whereConnected(routes: string[]): Promise<Map<string, ConnectionRecord>> {
    const { directory, now } = this.options;
    const records = await directory.connections(routes);
    const cards = await directory.cards([...new Set([...records.values()].map((r) => r.node))]);
    const at = now();
    for (const [route, record] of records) {
      const card = cards.get(record.node);
      if (record.node === this.options.node || !card || !isAlive(card, at)) records.delete(route);
    }
    return records;
  }

  /** Puts this node's card in the cluster, once its management API listens at `address`. */
  join(address: Address): Promise<void> {
    return this.membership.join(address);
  }

  /** A route started or stopped being served here (see `SupervisorOptions.onRouteServed`). */
  readonly routeServed = (route: string, servedBy: ConnectionRecord['transport'] | null): void => this.records.changed(route, servedBy);

  /** Commands were created here (see `SupervisorOptions.onCreated`). */
  readonly created = (docs: CommandDocument[]): void => this.notices.created(docs);

  /** Stops telling, removes this node's connection records and its card. */
  async leave(): Promise<void> {
    await this.notices.close();
    await this.records.close();
    await this.membership.leave();
  }
}
