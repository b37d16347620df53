import type { CommandState } from '../domain/command.js';
import { deadlinePassed } from './command-states.js';
import type { Dispatcher } from './dispatcher.js';
import type { LiveCommand } from './live-command.js';

/**
 * On a cluster, which commands this node holds (keeps live): those of the routes it serves — a
 * subscription of the route is open here, or was until `graceMs` ago (a long-poll between two
 * polls, an agent reconnecting) — plus any command past a deadline (some node must time it out;
 * the store's conditional writes let only one do it) and any claimed by this node. The others are
 * the business of the node their target is connected to: this node reads them from the cluster
 * when one of their routes subscribes here (`Supervisor.loadRoute`), and ignores them otherwise, so that the
 * work per command does not grow with the number of nodes.
 *
 * The embedded store has no other node: there every command is held (`holdsAll`).
 */
export class RouteAffinity {
  /** Route -> when its last subscription here ended. */
  private readonly ended = new Map<string, number>();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly node: string,
    private readonly graceMs: number,
    /** Told of each route this node stops serving (its grace passed with no subscription back). */
    private readonly onUnserved: (route: string) => void = () => {},
  ) {}

  /** Whether a subscription of the route is open here, or ended less than the grace ago. */
  serves(route: string, now: number): boolean {
    if (this.dispatcher.connectionOf(route) !== 'offline') return true;
    const ended = this.ended.get(route);
    return ended !== undefined && now - ended < this.graceMs;
  }

  /** When the route's last subscription here ended, if it has none now and its grace has not passed. */
  endedAt(route: string): number | undefined {
    return this.dispatcher.connectionOf(route) === 'offline' ? this.ended.get(route) : undefined;
  }

  /** A subscription of the route ended here. */
  unsubscribed(route: string, now: number): void {
    if (this.dispatcher.connectionOf(route) === 'offline') this.ended.set(route, now);
  }

  /** Whether to hold a command read from the store. */
  holds(state: CommandState, now: number): boolean {
    if (this.serves(state.doc.route, now) || state.claim?.node === this.node) return true;
    return deadlinePassed(state.status, { deliveryDeadline: Date.parse(state.doc.delivery_timestamp), executionDeadline: state.executionDeadline }, now);
  }

  /** Whether to keep holding a live command that nothing of this node is doing anything with. */
  keeps(live: LiveCommand, now: number): boolean {
    if (this.serves(live.doc.route, now)) return true;
    const { status, executionDeadline } = live.state;
    return deadlinePassed(status, { deliveryDeadline: live.deliveryDeadline, executionDeadline }, now);
  }

  /**
   * The routes served here now, for the poller's tail to ask the cluster for their commands only;
   * null (every command) past `max` routes, where a list in every tail request would cost more than
   * reading and dropping what other nodes serve.
   */
  routes(now: number, max: number): string[] | null {
    const routes = new Set(this.dispatcher.connectedRoutes());
    for (const [route, ended] of this.ended) if (now - ended < this.graceMs) routes.add(route);
    return routes.size > max ? null : [...routes];
  }

  /** Forgets routes whose grace has passed (called now and then). */
  prune(now: number): void {
    for (const [route, ended] of this.ended) {
      if (now - ended < this.graceMs) continue;
      this.ended.delete(route);
      if (this.dispatcher.connectionOf(route) === 'offline') this.onUnserved(route);
    }
  }
}

/** What holds every command: a node alone on its store. */
export const holdsAll = {
  holds: () => true,
  keeps: () => true,
} satisfies Pick<RouteAffinity, 'holds' | 'keeps'>;
